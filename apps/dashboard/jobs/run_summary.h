// What the jobs read back from a run's metrics.jsonl: how far it got, the validation loss at a
// step, and the figures a try-it A/B run compares.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "apps/dashboard/runs/metrics_file.h"

namespace sieve::dashboard {

struct RunSummary {
  std::int64_t step = 0;                // the last train or eval record's step
  std::int64_t steps = 0;               // the last start record's target
  std::optional<double> val_loss;       // the last eval record's
  std::optional<double> tokens_per_s;   // mean over the train records but the first (warm-up)
  std::optional<double> skipped_total;  // the last train record's
  std::optional<double> peak_rss_mb;    // the largest any train record reports
  bool reached_end() const { return steps > 0 && step >= steps; }
};

RunSummary summarize_run(const RunSeries& series);
RunSummary summarize_run(const std::filesystem::path& run_dir);

// The validation loss of the eval record at exactly `step`, if there is one.
std::optional<double> val_loss_at(const RunSeries& series, std::int64_t step);

// {"val_loss","tokens_per_s","skipped_total","peak_rss_mb"}, null where unknown.
nlohmann::json summary_json(const RunSummary& summary);

}  // namespace sieve::dashboard
