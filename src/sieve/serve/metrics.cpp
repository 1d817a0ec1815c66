#include "sieve/serve/metrics.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>

namespace sieve::serve {
namespace {

// A label value with Prometheus' escapes.
std::string escaped(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string variant_labels(const std::string& route, const std::string& model) {
  return fmt::format("route=\"{}\",model=\"{}\"", escaped(route), escaped(model));
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

void LatencyHistogram::observe(double ms) {
  for (std::size_t i = 0; i < kBoundsMs.size(); ++i)
    if (ms <= kBoundsMs[i]) ++buckets_[i];
  ++count_;
  sum_ms_ += ms;
  recent_.push_back(ms);
  if (recent_.size() > kRecent) recent_.pop_front();
}

double LatencyHistogram::quantile(double q) const {
  if (recent_.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::vector<double> sorted(recent_.begin(), recent_.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  const std::size_t index = std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1);
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(index), sorted.end());
  return sorted[index];
}

void LatencyHistogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  for (std::size_t i = 0; i < kBoundsMs.size(); ++i)
    out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, kBoundsMs[i] / 1000.0, buckets_[i]);
  out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels, count_);
  out += fmt::format("{}_sum{{{}}} {}\n{}_count{{{}}} {}\n", name, labels, sum_ms_ / 1000.0, name, labels, count_);
}

void ServiceMetrics::record(const std::string& route, const std::string& model, const CompletionOutcome& outcome) {
  std::lock_guard lock(mutex_);
  Variant& variant = variants_[{route, model}];
  variant.shadow = outcome.shadow;
  ++variant.requests;
  if (outcome.code != Code::ok) ++variant.errors[outcome.code];
  variant.latency.observe(outcome.latency_ms);
  if (outcome.ttft_ms >= 0.0) variant.ttft.observe(outcome.ttft_ms);
  variant.completion_tokens += outcome.completion_tokens;
  variant.decode_seconds += outcome.decode_seconds;
}

void ServiceMetrics::record_refusal(const std::string& route, Code code) {
  std::lock_guard lock(mutex_);
  ++refusals_[{route, code}];
}

std::string ServiceMetrics::prometheus(const SchedulerGauges& gauges,
                                       const std::map<std::string, std::int64_t>& versions) const {
  std::string out;
  header(out, "sieve_queued_requests", "gauge", "Requests waiting for a batch slot.");
  out += fmt::format("sieve_queued_requests {}\n", gauges.queued);
  header(out, "sieve_active_sequences", "gauge", "Sequences in the running batch.");
  out += fmt::format("sieve_active_sequences {}\n", gauges.active);
  header(out, "sieve_kv_cache_bytes", "gauge", "Bytes held by the active sequences' KV caches.");
  out += fmt::format("sieve_kv_cache_bytes {}\n", gauges.kv_cache_bytes);
  header(out, "sieve_batch_steps_total", "counter", "Batched forward steps run.");
  out += fmt::format("sieve_batch_steps_total {}\n", gauges.steps);
  header(out, "sieve_batch_tokens_total", "counter", "Tokens run in batched steps (prefill and decode).");
  out += fmt::format("sieve_batch_tokens_total {}\n", gauges.step_tokens);
  header(out, "sieve_batch_sequences_total", "counter", "Sequence slots run in batched steps.");
  out += fmt::format("sieve_batch_sequences_total {}\n", gauges.step_sequences);
  header(out, "sieve_model_version", "gauge", "The serving version of each model.");
  for (const auto& [model, version] : versions)
    out += fmt::format("sieve_model_version{{model=\"{}\"}} {}\n", escaped(model), version);

  std::lock_guard lock(mutex_);
  header(out, "sieve_requests_total", "counter", "Completions ended, per route and answering model.");
  for (const auto& [key, v] : variants_)
    out += fmt::format("sieve_requests_total{{{},shadow=\"{}\"}} {}\n", variant_labels(key.first, key.second),
                       v.shadow, v.requests);
  header(out, "sieve_request_errors_total", "counter", "Completions that ended in an error, by code.");
  for (const auto& [key, v] : variants_)
    for (const auto& [code, count] : v.errors)
      out += fmt::format("sieve_request_errors_total{{{},code=\"{}\"}} {}\n", variant_labels(key.first, key.second),
                         code_name(code), count);
  header(out, "sieve_completion_tokens_total", "counter", "Tokens generated.");
  for (const auto& [key, v] : variants_)
    out += fmt::format("sieve_completion_tokens_total{{{}}} {}\n", variant_labels(key.first, key.second),
                       v.completion_tokens);
  header(out, "sieve_request_duration_seconds", "histogram", "Time from submission to the last token.");
  for (const auto& [key, v] : variants_)
    v.latency.render(out, "sieve_request_duration_seconds", variant_labels(key.first, key.second));
  header(out, "sieve_time_to_first_token_seconds", "histogram", "Time from submission to the first token.");
  for (const auto& [key, v] : variants_)
    v.ttft.render(out, "sieve_time_to_first_token_seconds", variant_labels(key.first, key.second));
  header(out, "sieve_refused_requests_total", "counter", "Requests refused at submission, by code.");
  for (const auto& [key, count] : refusals_)
    out += fmt::format("sieve_refused_requests_total{{route=\"{}\",code=\"{}\"}} {}\n", escaped(key.first),
                       code_name(key.second), count);
  return out;
}

nlohmann::json ServiceMetrics::experiment(const std::string& route, const std::vector<std::string>& models,
                                          const std::string& shadow) const {
  std::lock_guard lock(mutex_);
  const auto summary = [&](const std::string& model) {
    nlohmann::json entry = {{"model", model}, {"requests", 0}, {"errors", 0}};
    const auto found = variants_.find({route, model});
    if (found == variants_.end()) return entry;
    const Variant& v = found->second;
    std::int64_t errors = 0;
    for (const auto& [code, count] : v.errors) errors += count;
    const auto number = [](double x) { return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x); };
    entry["requests"] = v.requests;
    entry["errors"] = errors;
    entry["latency_ms"] = {{"p50", number(v.latency.quantile(0.5))},
                           {"p90", number(v.latency.quantile(0.9))},
                           {"p99", number(v.latency.quantile(0.99))}};
    entry["ttft_ms"] = {{"p50", number(v.ttft.quantile(0.5))}, {"p99", number(v.ttft.quantile(0.99))}};
    entry["completion_tokens"] = v.completion_tokens;
    entry["decode_tokens_per_s"] =
        v.decode_seconds > 0.0 ? nlohmann::json(static_cast<double>(v.completion_tokens) / v.decode_seconds)
                               : nlohmann::json(nullptr);
    return entry;
  };
  nlohmann::json variants = nlohmann::json::array();
  std::int64_t total = 0;
  for (const std::string& model : models) {
    variants.push_back(summary(model));
    total += variants.back()["requests"].get<std::int64_t>();
  }
  for (auto& entry : variants)
    entry["share"] = total > 0 ? entry["requests"].get<double>() / static_cast<double>(total) : 0.0;
  nlohmann::json result = {{"route", route}, {"variants", variants}};
  result["shadow"] = shadow.empty() ? nlohmann::json(nullptr) : summary(shadow);
  return result;
}

}  // namespace sieve::serve
