// What one scrape of a `sieve serve` instance's /metrics says (serve/metrics.h names the series):
// the scheduler's gauges, each model's version, refusals, and per variant — a route and the model
// that answered it — its counters and latency histograms. Two snapshots give the rates between
// them; histograms give latency quantiles as Prometheus' histogram_quantile() does.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/dashboard/serving/prometheus_text.h"

namespace sieve::dashboard {

// Cumulative bucket counts by upper bound in seconds, ascending; the last bound is +Inf.
using HistogramBuckets = std::vector<std::pair<double, double>>;

struct VariantCounters {
  bool shadow = false;
  double requests = 0.0;
  double errors = 0.0;
  double completion_tokens = 0.0;
  HistogramBuckets latency;
  HistogramBuckets ttft;
};

struct ServingSnapshot {
  double unix_time = 0.0;
  double queued = 0.0;
  double active = 0.0;
  double kv_cache_bytes = 0.0;
  std::map<std::string, double> model_versions;
  std::map<std::string, double> refused;  // by code
  std::map<std::pair<std::string, std::string>, VariantCounters> variants;  // (route, model)
};

ServingSnapshot serving_snapshot(const std::vector<PrometheusSample>& samples, double unix_time);

// The q-quantile (0..1) of a histogram in milliseconds, interpolated linearly inside its bucket;
// none when it holds no observation. One in the +Inf bucket reads as the largest finite bound.
std::optional<double> histogram_quantile_ms(double q, const HistogramBuckets& buckets);

// {"models","gauges","variants","refused"} of the latest snapshot (the API's serving target).
nlohmann::json snapshot_json(const ServingSnapshot& snapshot);

// One history point: the gauges at `now` and per variant the rates since `before` and the p95
// latency of the requests that ended in between.
nlohmann::json history_point(const ServingSnapshot& before, const ServingSnapshot& now);

}  // namespace sieve::dashboard
