#include "apps/dashboard/serving/serving_snapshot.h"

#include <algorithm>
#include <cmath>

namespace sieve::dashboard {
namespace {

std::string label(const PrometheusSample& sample, const char* name) {
  const auto it = sample.labels.find(name);
  return it == sample.labels.end() ? "" : it->second;
}

void add_bucket(HistogramBuckets& buckets, const PrometheusSample& sample) {
  const std::string bound = label(sample, "le");
  double le = 0.0;
  try {
    le = bound == "+Inf" ? INFINITY : std::stod(bound);
  } catch (const std::exception&) {
    return;  // not a bucket bound: not one of ours
  }
  buckets.emplace_back(le, sample.value);
  std::sort(buckets.begin(), buckets.end());
}

HistogramBuckets minus(const HistogramBuckets& now, const HistogramBuckets& before) {
  HistogramBuckets difference = now;
  if (before.size() != now.size()) return difference;  // the server restarted: all are new
  for (std::size_t i = 0; i < now.size(); ++i) difference[i].second = std::max(0.0, now[i].second - before[i].second);
  return difference;
}

nlohmann::json optional_number(const std::optional<double>& value) {
  return value && std::isfinite(*value) ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json quantiles(const HistogramBuckets& buckets) {
  return {{"p50", optional_number(histogram_quantile_ms(0.5, buckets))},
          {"p95", optional_number(histogram_quantile_ms(0.95, buckets))}};
}

}  // namespace

ServingSnapshot serving_snapshot(const std::vector<PrometheusSample>& samples, double unix_time) {
  ServingSnapshot snapshot;
  snapshot.unix_time = unix_time;
  for (const PrometheusSample& sample : samples) {
    const std::pair<std::string, std::string> variant{label(sample, "route"), label(sample, "model")};
    const std::string& name = sample.name;
    if (name == "sieve_queued_requests") {
      snapshot.queued = sample.value;
    } else if (name == "sieve_active_sequences") {
      snapshot.active = sample.value;
    } else if (name == "sieve_kv_cache_bytes") {
      snapshot.kv_cache_bytes = sample.value;
    } else if (name == "sieve_model_version") {
      snapshot.model_versions[label(sample, "model")] = sample.value;
    } else if (name == "sieve_refused_requests_total") {
      snapshot.refused[label(sample, "code")] += sample.value;
    } else if (name == "sieve_requests_total") {
      snapshot.variants[variant].requests += sample.value;
      snapshot.variants[variant].shadow = label(sample, "shadow") == "true";
    } else if (name == "sieve_request_errors_total") {
      snapshot.variants[variant].errors += sample.value;
    } else if (name == "sieve_completion_tokens_total") {
      snapshot.variants[variant].completion_tokens += sample.value;
    } else if (name == "sieve_request_duration_seconds_bucket") {
      add_bucket(snapshot.variants[variant].latency, sample);
    } else if (name == "sieve_time_to_first_token_seconds_bucket") {
      add_bucket(snapshot.variants[variant].ttft, sample);
    }
  }
  return snapshot;
}

std::optional<double> histogram_quantile_ms(double q, const HistogramBuckets& buckets) {
  if (buckets.empty() || !(buckets.back().second > 0.0)) return std::nullopt;
  const double rank = q * buckets.back().second;
  double lower_bound = 0.0;
  double lower_count = 0.0;
  double largest_finite = 0.0;
  for (const auto& [le, count] : buckets) {
    if (std::isfinite(le)) largest_finite = le;
    if (count >= rank) {
      if (!std::isfinite(le)) return largest_finite * 1000.0;
      const double share = count > lower_count ? (rank - lower_count) / (count - lower_count) : 0.0;
      return (lower_bound + (le - lower_bound) * share) * 1000.0;
    }
    lower_bound = le;
    lower_count = count;
  }
  return largest_finite * 1000.0;
}

nlohmann::json snapshot_json(const ServingSnapshot& snapshot) {
  nlohmann::json variants = nlohmann::json::array();
  for (const auto& [key, counters] : snapshot.variants)
    variants.push_back({{"route", key.first},
                        {"model", key.second},
                        {"shadow", counters.shadow},
                        {"requests", counters.requests},
                        {"errors", counters.errors},
                        {"completion_tokens", counters.completion_tokens},
                        {"latency_ms", quantiles(counters.latency)},
                        {"ttft_ms", quantiles(counters.ttft)}});
  return {{"models", snapshot.model_versions},
          {"gauges", {{"queued", snapshot.queued}, {"active", snapshot.active}, {"kv_cache_bytes", snapshot.kv_cache_bytes}}},
          {"variants", variants},
          {"refused", snapshot.refused}};
}

nlohmann::json history_point(const ServingSnapshot& before, const ServingSnapshot& now) {
  const double seconds = now.unix_time - before.unix_time;
  const auto rate = [seconds](double later, double earlier) {
    return seconds > 0.0 ? std::max(0.0, later - earlier) / seconds : 0.0;
  };
  nlohmann::json variants = nlohmann::json::array();
  for (const auto& [key, counters] : now.variants) {
    const auto earlier = before.variants.find(key);
    const VariantCounters previous = earlier == before.variants.end() ? VariantCounters{} : earlier->second;
    variants.push_back({{"route", key.first},
                        {"model", key.second},
                        {"requests_per_s", rate(counters.requests, previous.requests)},
                        {"tokens_per_s", rate(counters.completion_tokens, previous.completion_tokens)},
                        {"errors_per_s", rate(counters.errors, previous.errors)},
                        {"p95_ms", optional_number(histogram_quantile_ms(0.95, minus(counters.latency, previous.latency)))}});
  }
  return {{"t", now.unix_time}, {"queued", now.queued}, {"active", now.active}, {"variants", variants}};
}

}  // namespace sieve::dashboard
