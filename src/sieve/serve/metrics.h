// The server's measurements: per variant (a route and the model that answered; a direct request
// is its model's own route) requests, errors by code, latency and time-to-first-token histograms,
// tokens; refusals by code; and the scheduler's gauges. Rendered in Prometheus' text format and
// as the per-route experiment summary.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sieve/serve/status.h"

namespace sieve::serve {

// Cumulative buckets in milliseconds, plus the newest samples for exact quantiles.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> kBoundsMs = {5,    10,   25,   50,    100,   250,   500,
                                                       1000, 2500, 5000, 10000, 30000, 60000, 120000};
  void observe(double ms);
  // The q-quantile (0..1) of the newest samples (NaN when none).
  double quantile(double q) const;
  // Prometheus histogram lines for `name` with `labels` ("a=\"x\",b=\"y\"").
  void render(std::string& out, const std::string& name, const std::string& labels) const;
  std::int64_t count() const { return count_; }

 private:
  static constexpr std::size_t kRecent = 4096;
  std::array<std::int64_t, kBoundsMs.size()> buckets_{};
  std::int64_t count_ = 0;
  double sum_ms_ = 0.0;
  std::deque<double> recent_;
};

// How one completion ended, for its variant's metrics.
struct CompletionOutcome {
  Code code = Code::ok;
  double latency_ms = 0.0;
  double ttft_ms = -1.0;  // < 0: no token was made
  std::int64_t completion_tokens = 0;
  double decode_seconds = 0.0;  // from the first token to the end
  bool shadow = false;
};

// The scheduler's state at the moment of a scrape.
struct SchedulerGauges {
  std::int64_t queued = 0;
  std::int64_t active = 0;
  std::int64_t kv_cache_bytes = 0;
  std::int64_t steps = 0;
  std::int64_t step_tokens = 0;
  std::int64_t step_sequences = 0;
};

class ServiceMetrics {
 public:
  void record(const std::string& route, const std::string& model, const CompletionOutcome& outcome);
  void record_refusal(const std::string& route, Code code);
  // Everything, in Prometheus' text exposition format (version 0.0.4).
  std::string prometheus(const SchedulerGauges& gauges, const std::map<std::string, std::int64_t>& versions) const;
  // The summary of `route`'s variants `models` (and its shadow, marked).
  nlohmann::json experiment(const std::string& route, const std::vector<std::string>& models,
                            const std::string& shadow) const;

 private:
  struct Variant {
    std::int64_t requests = 0;
    std::map<Code, std::int64_t> errors;
    LatencyHistogram latency, ttft;
    std::int64_t completion_tokens = 0;
    double decode_seconds = 0.0;
    bool shadow = false;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, Variant> variants_;  // (route, model)
  std::map<std::pair<std::string, Code>, std::int64_t> refusals_;
};

}  // namespace sieve::serve
