// The small JSON files of a run directory (config.json, command.json, job.json), read with a
// size bound: a run directory is not trusted to hold what its names promise.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

namespace sieve::dashboard {

inline constexpr std::uintmax_t kMaxRunJsonBytes = 1 << 20;

// The job record the dashboard keeps in each run it launched (jobs/job_record.h).
inline constexpr const char* kJobRecordFile = "job.json";

// The file's JSON, or null when it is missing, not a regular file, larger than
// kMaxRunJsonBytes or not JSON.
nlohmann::json read_run_json(const std::filesystem::path& file);

}  // namespace sieve::dashboard
