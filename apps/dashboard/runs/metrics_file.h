// One run's metrics.jsonl (docs/metrics.md) read incrementally while the run appends to it, and
// the series a reader plots or judges: the latest `start` and the `train` and `eval` records
// with a later line for the same step replacing an earlier one (a resumed run repeats steps).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

namespace sieve::dashboard {

class MetricsFile {
 public:
  explicit MetricsFile(std::filesystem::path file);

  // Reads the lines appended since the last call; a last line without its newline waits for
  // the next call. A file that shrank (replaced or truncated) is read again from its start.
  // Lines that are not JSON objects with an "event" string are skipped and counted. Returns
  // the number of new records. A missing file reads as empty.
  std::size_t refresh();

  // Every record in file order; index i is the i-th good line.
  const std::vector<nlohmann::json>& records() const { return records_; }
  std::size_t bad_lines() const { return bad_lines_; }
  // Seconds since the Unix epoch when the file last changed (0 when it does not exist).
  double modified_unix_time() const { return modified_; }

 private:
  std::filesystem::path file_;
  std::uintmax_t offset_ = 0;
  std::string partial_;
  std::vector<nlohmann::json> records_;
  std::size_t bad_lines_ = 0;
  double modified_ = 0.0;
};

struct RunSeries {
  nlohmann::json start;                 // the last "start" record (null when none)
  std::vector<nlohmann::json> train;    // "train" records, one per step, ascending
  std::vector<nlohmann::json> eval;     // "eval" records, one per step, ascending
};

RunSeries series_of(const std::vector<nlohmann::json>& records);

// A record's numeric field, or `fallback` when it is absent or not a number (null included).
double number_or(const nlohmann::json& record, const char* field, double fallback);

}  // namespace sieve::dashboard
