// The training metrics stream: JSON Lines appended to run_dir/metrics.jsonl, one object per
// line, flushed as written so a dashboard can tail the file during the run. The schema is in
// docs/metrics.md.
#pragma once

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace sieve::train {

inline constexpr const char* kMetricsFile = "metrics.jsonl";

class MetricsLog {
 public:
  // An empty path gives a log that drops everything. Otherwise the file is created or, on a
  // resumed run, appended to. Throws core::UserError if it cannot be opened.
  explicit MetricsLog(const std::filesystem::path& file = {});

  bool enabled() const { return out_.is_open(); }
  // Writes `record` as one line. Non-finite numbers become null (JSON has no NaN/inf).
  void write(const nlohmann::json& record);

 private:
  std::ofstream out_;
};

// Seconds since the Unix epoch (wall clock), with sub-second precision.
double unix_time_seconds();
// The process's peak resident set size so far, in MiB.
double peak_rss_mb();

}  // namespace sieve::train
