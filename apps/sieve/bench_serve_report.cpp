#include "apps/sieve/bench_serve_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace sieve::apps {
namespace {

double ms_between(BenchClock::time_point from, BenchClock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// The nearest-rank percentile `p` (0..100) of `values`, or null when there are none.
nlohmann::json percentile(std::vector<double> values, double p) {
  if (values.empty()) return nullptr;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

bool overlaps(const RequestRecord& r, const ReloadEvent& e) { return r.due < e.end && r.outcome.end > e.begin; }

// p99 latency of the successful requests that ended before the first reload began, overlapped a
// reload, and began after the last reload ended.
void add_reload_quantiles(const std::vector<RequestRecord>& records, const std::vector<ReloadEvent>& reloads,
                          nlohmann::json& report) {
  std::vector<double> before, during, after;
  for (const RequestRecord& r : records) {
    if (!r.outcome.ok) continue;
    const double ms = ms_between(r.due, r.outcome.end);
    if (r.outcome.end <= reloads.front().begin)
      before.push_back(ms);
    else if (r.due >= reloads.back().end)
      after.push_back(ms);
    if (std::any_of(reloads.begin(), reloads.end(), [&](const ReloadEvent& e) { return overlaps(r, e); }))
      during.push_back(ms);
  }
  report["p99_before_reload_ms"] = percentile(before, 99);
  report["p99_during_reload_ms"] = percentile(during, 99);
  report["p99_after_reload_ms"] = percentile(after, 99);
  report["requests_during_reload"] = during.size();
}

nlohmann::json reload_list(const std::vector<ReloadEvent>& reloads, BenchClock::time_point start) {
  nlohmann::json list = nlohmann::json::array();
  for (const ReloadEvent& e : reloads) {
    nlohmann::json item{{"at_s", ms_between(start, e.begin) / 1000.0}, {"ms", ms_between(e.begin, e.end)}};
    if (!e.error.empty()) item["error"] = e.error;
    list.push_back(std::move(item));
  }
  return list;
}

// "12.3" for a number, "-" for null.
std::string number(const nlohmann::json& value, const char* format = "{:.1f}") {
  return value.is_number() ? fmt::format(fmt::runtime(format), value.get<double>()) : "-";
}

}  // namespace

nlohmann::json summarize_serve_run(const ServeBenchSetup& setup, const LoadRun& run,
                                   const std::vector<ReloadEvent>& reloads) {
  std::vector<double> latency_ms, ttft_ms;
  std::int64_t tokens = 0;
  std::map<std::string, std::int64_t> error_codes;
  std::map<std::int64_t, std::int64_t> versions;  // answers per model version, where the server names it
  const RequestRecord* first_error = nullptr;
  for (const RequestRecord& r : run.records) {
    if (!r.outcome.ok) {
      ++error_codes[r.outcome.error_code];
      if (first_error == nullptr || r.outcome.end < first_error->outcome.end) first_error = &r;
      continue;
    }
    latency_ms.push_back(ms_between(r.due, r.outcome.end));
    ttft_ms.push_back(ms_between(r.due, r.outcome.first_text.value_or(r.outcome.end)));
    tokens += r.outcome.completion_tokens;
    if (r.outcome.version >= 0) ++versions[r.outcome.version];
  }
  const double wall_s = ms_between(run.start, run.end) / 1000.0;
  const auto ok = static_cast<std::int64_t>(latency_ms.size());
  const nlohmann::json p50 = percentile(latency_ms, 50), p99 = percentile(latency_ms, 99);
  nlohmann::json report{
      {"bench", "serve"},
      {"protocol", setup.target.protocol_name()},
      {"address", setup.target.address()},
      {"model", setup.settings.model},
      {"loop", setup.plan.rate > 0.0 ? "open" : "closed"},
      {"clients", setup.clients},
      {"stream", setup.settings.stream},
      {"max_tokens", setup.settings.max_tokens},
      {"temperature", setup.settings.temperature},
      {"requests", run.records.size()},
      {"ok", ok},
      {"errors", static_cast<std::int64_t>(run.records.size()) - ok},
      {"error_codes", error_codes},
      {"wall_s", wall_s},
      {"qps", wall_s > 0.0 ? static_cast<double>(ok) / wall_s : 0.0},
      {"completion_tokens", tokens},
      {"tokens_per_s", wall_s > 0.0 ? static_cast<double>(tokens) / wall_s : 0.0},
      {"p50_ms", p50},
      {"p90_ms", percentile(latency_ms, 90)},
      {"p99_ms", p99},
      {"p99_over_p50", p50.is_number() && p50.get<double>() > 0.0 ? nlohmann::json(p99.get<double>() / p50.get<double>())
                                                                   : nlohmann::json(nullptr)},
      {"ttft_p50_ms", percentile(ttft_ms, 50)},
      {"ttft_p99_ms", percentile(ttft_ms, 99)},
      {"ttft", setup.settings.stream ? "first chunk with text" : "whole answer (not streaming)"},
  };
  for (const auto& [version, count] : versions) report["versions"][std::to_string(version)] = count;
  if (setup.plan.rate > 0.0) {
    report["rate"] = setup.plan.rate;
    report["unsent"] = run.unsent;
  }
  if (first_error != nullptr)
    report["first_error"] = first_error->outcome.error_code + ": " + first_error->outcome.error_message;
  if (!reloads.empty()) {
    report["reloads"] = reload_list(reloads, run.start);
    report["reload_failures"] = std::count_if(reloads.begin(), reloads.end(),
                                              [](const ReloadEvent& e) { return !e.error.empty(); });
    add_reload_quantiles(run.records, reloads, report);
  }
  return report;
}

std::string format_serve_report(const nlohmann::json& r) {
  const std::string loop = r["loop"] == "open" ? fmt::format("open loop at {} req/s, {} clients",
                                                             number(r["rate"], "{:g}"), r["clients"].get<int>())
                                               : fmt::format("closed loop, {} clients", r["clients"].get<int>());
  std::string out = fmt::format("sieve bench serve: {} {} model {}, {}, max_tokens {}{}\n",
                                r["protocol"].get<std::string>(), r["address"].get<std::string>(),
                                r["model"].get<std::string>(), loop, r["max_tokens"].get<std::int64_t>(),
                                r["stream"].get<bool>() ? ", streaming" : "");
  out += fmt::format("  requests      {} ({} ok, {} errors)\n", r["requests"].get<std::int64_t>(),
                     r["ok"].get<std::int64_t>(), r["errors"].get<std::int64_t>());
  for (const auto& [code, count] : r["error_codes"].items())
    out += fmt::format("    {:<24}{}\n", code, count.get<std::int64_t>());
  if (r.contains("first_error")) out += fmt::format("    first: {}\n", r["first_error"].get<std::string>());
  if (r.contains("unsent")) out += fmt::format("  unsent        {} (arrived but no client was free by the time limit)\n",
                                               r["unsent"].get<std::int64_t>());
  if (r.contains("versions")) {
    std::string list;
    for (const auto& [version, count] : r["versions"].items())
      list += fmt::format("{}v{}: {}", list.empty() ? "" : ", ", version, count.get<std::int64_t>());
    out += fmt::format("  answers by model version: {}\n", list);
  }
  out += fmt::format("  wall time     {:.2f} s\n", r["wall_s"].get<double>());
  out += fmt::format("  QPS           {:.2f}\n", r["qps"].get<double>());
  out += fmt::format("  tokens/s      {:.1f} ({} completion tokens)\n", r["tokens_per_s"].get<double>(),
                     r["completion_tokens"].get<std::int64_t>());
  out += fmt::format("  latency ms    p50 {}  p90 {}  p99 {}  (p99/p50 {})\n", number(r["p50_ms"]),
                     number(r["p90_ms"]), number(r["p99_ms"]), number(r["p99_over_p50"], "{:.2f}"));
  out += fmt::format("  TTFT ms       p50 {}  p99 {}  ({})\n", number(r["ttft_p50_ms"]), number(r["ttft_p99_ms"]),
                     r["ttft"].get<std::string>());
  if (r.contains("reloads")) {
    for (const auto& e : r["reloads"])
      out += fmt::format("  reload at {:.1f} s: {:.0f} ms{}\n", e["at_s"].get<double>(), e["ms"].get<double>(),
                         e.contains("error") ? ", FAILED: " + e["error"].get<std::string>() : "");
    out += fmt::format("  p99 ms around reloads: before {}  during {} ({} requests)  after {}\n",
                       number(r["p99_before_reload_ms"]), number(r["p99_during_reload_ms"]),
                       r["requests_during_reload"].get<std::int64_t>(), number(r["p99_after_reload_ms"]));
  }
  out.pop_back();  // the caller ends the last line
  return out;
}

}  // namespace sieve::apps
