// What `sieve bench serve` reports: throughput (requests and completion tokens per second of
// wall time), latency and time-to-first-token quantiles over the successful requests, errors
// by code, answers per model version, and with hot reloads the p99 before, during and after them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/sieve/bench_serve_client.h"
#include "apps/sieve/bench_serve_load.h"
#include "apps/sieve/bench_serve_reload.h"
#include "apps/sieve/bench_serve_target.h"

namespace sieve::apps {

// How the run was set up, echoed in the report.
struct ServeBenchSetup {
  ServeTarget target;
  CompletionSettings settings;
  LoadPlan plan;
  int clients = 0;
};

// The report as one JSON object: qps, tokens_per_s, p50_ms, p90_ms, p99_ms, ttft_p50_ms,
// ttft_p99_ms, errors, requests and more (quantiles are null when no request succeeded).
nlohmann::json summarize_serve_run(const ServeBenchSetup& setup, const LoadRun& run,
                                   const std::vector<ReloadEvent>& reloads);
// The same report as a table for people.
std::string format_serve_report(const nlohmann::json& report);

}  // namespace sieve::apps
