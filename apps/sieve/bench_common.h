// What the `sieve bench` subcommands share: --json/--threads, one-line output, timing, random
// token batches.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "sieve/core/rng.h"
#include "sieve/core/tensor.h"

namespace sieve::apps {

using BenchClock = std::chrono::steady_clock;

double ms_since(BenchClock::time_point start);
// The process's peak resident memory so far, in MB.
double peak_rss_mb();
// int64 [batch, tokens] ids uniform in [0, vocab).
core::Tensor random_tokens(std::int64_t batch, std::int64_t tokens, std::int64_t vocab, core::Rng& rng);

struct CommonBenchArgs {
  bool json = false;
  int threads = 0;
  void apply() const;  // sets the thread count when given
};

void add_common_bench_flags(CLI::App* cmd, CommonBenchArgs& common);

// Prints `result` as one JSON line with --json, else the human line.
void emit_bench_result(bool json, const nlohmann::json& result, const std::string& human);

}  // namespace sieve::apps
