#include "apps/dashboard/jobs/run_summary.h"

#include <algorithm>
#include <cmath>

namespace sieve::dashboard {
namespace {

nlohmann::json optional_json(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::optional<double> field(const nlohmann::json& record, const char* name) {
  const double value = number_or(record, name, NAN);
  return std::isnan(value) ? std::nullopt : std::optional<double>(value);
}

}  // namespace

RunSummary summarize_run(const RunSeries& series) {
  RunSummary summary;
  summary.steps = static_cast<std::int64_t>(number_or(series.start, "steps", 0));
  if (!series.eval.empty()) {
    summary.val_loss = field(series.eval.back(), "val_loss");
    summary.step = static_cast<std::int64_t>(number_or(series.eval.back(), "step", 0));
  }
  if (series.train.empty()) return summary;
  summary.step = std::max(summary.step, static_cast<std::int64_t>(number_or(series.train.back(), "step", 0)));
  summary.skipped_total = field(series.train.back(), "skipped_total");
  // The first interval includes start-up (allocation, caches): leave it out when there are more.
  const std::size_t first = series.train.size() > 1 ? 1 : 0;
  double sum = 0;
  int count = 0;
  for (std::size_t i = first; i < series.train.size(); ++i) {
    if (const auto rate = field(series.train[i], "tokens_per_s")) {
      sum += *rate;
      ++count;
    }
    if (const auto rss = field(series.train[i], "peak_rss_mb"))
      summary.peak_rss_mb = std::max(summary.peak_rss_mb.value_or(*rss), *rss);
  }
  if (count > 0) summary.tokens_per_s = sum / count;
  if (const auto rss = field(series.train.front(), "peak_rss_mb"))
    summary.peak_rss_mb = std::max(summary.peak_rss_mb.value_or(*rss), *rss);
  return summary;
}

RunSummary summarize_run(const std::filesystem::path& run_dir) {
  MetricsFile metrics(run_dir / "metrics.jsonl");
  metrics.refresh();
  return summarize_run(series_of(metrics.records()));
}

std::optional<double> val_loss_at(const RunSeries& series, std::int64_t step) {
  for (const nlohmann::json& record : series.eval)
    if (static_cast<std::int64_t>(number_or(record, "step", -1)) == step) return field(record, "val_loss");
  return std::nullopt;
}

nlohmann::json summary_json(const RunSummary& summary) {
  return {{"val_loss", optional_json(summary.val_loss)},
          {"tokens_per_s", optional_json(summary.tokens_per_s)},
          {"skipped_total", optional_json(summary.skipped_total)},
          {"peak_rss_mb", optional_json(summary.peak_rss_mb)}};
}

}  // namespace sieve::dashboard
