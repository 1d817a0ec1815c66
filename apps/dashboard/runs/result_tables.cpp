#include "apps/dashboard/runs/result_tables.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "sieve/core/error.h"

namespace sieve::dashboard {
namespace {

constexpr std::uintmax_t kMaxResultsBytes = 16u << 20;

struct Table {
  std::string bench;
  std::vector<std::string> columns;
  std::vector<nlohmann::json> records;
};

}  // namespace

nlohmann::json result_tables(const std::filesystem::path& file) {
  nlohmann::json out = {{"source", file.string()}, {"tables", nlohmann::json::array()}};
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(file, error);
  if (error) return out;
  SIEVE_USER_CHECK(size <= kMaxResultsBytes, "the results file {} is larger than {} bytes", file.string(),
                   kMaxResultsBytes);
  std::vector<Table> tables;
  std::map<std::string, std::size_t> table_of;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object()) continue;
    const std::string bench = record.value("bench", "results");
    auto [it, added] = table_of.try_emplace(bench, tables.size());
    if (added) tables.push_back({bench, {}, {}});
    Table& table = tables[it->second];
    for (const auto& [key, value] : record.items())
      if (key != "bench" && std::find(table.columns.begin(), table.columns.end(), key) == table.columns.end())
        table.columns.push_back(key);
    table.records.push_back(std::move(record));
  }
  for (const Table& table : tables) {
    nlohmann::json rows = nlohmann::json::array();
    for (const nlohmann::json& record : table.records) {
      nlohmann::json row = nlohmann::json::array();
      for (const std::string& column : table.columns) row.push_back(record.value(column, nlohmann::json()));
      rows.push_back(std::move(row));
    }
    out["tables"].push_back({{"bench", table.bench}, {"columns", table.columns}, {"rows", rows}});
  }
  return out;
}

}  // namespace sieve::dashboard
