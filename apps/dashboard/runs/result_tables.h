// The project's benchmark and compression results (bench/results.jsonl: one JSON object per
// measured row, with a "bench" field naming its table) grouped into tables for the dashboard.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

namespace sieve::dashboard {

// {"source": file, "tables":[{"bench","columns":[...],"rows":[[...], ...]}]}: one table per
// "bench" value in order of appearance, columns in order of first appearance. A missing file
// gives no tables; lines that are not objects are skipped; a file over 16 MiB is refused
// (core::UserError).
nlohmann::json result_tables(const std::filesystem::path& file);

}  // namespace sieve::dashboard
