#include "apps/sieve/bench_common.h"

#include <sys/resource.h>

#include <cstdio>

#include "sieve/core/parallel.h"

namespace sieve::apps {

double ms_since(BenchClock::time_point start) {
  return std::chrono::duration<double, std::milli>(BenchClock::now() - start).count();
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

core::Tensor random_tokens(std::int64_t batch, std::int64_t tokens, std::int64_t vocab, core::Rng& rng) {
  core::Tensor ids = core::Tensor::empty({batch, tokens}, core::DType::i64);
  auto* data = ids.data<std::int64_t>();
  for (std::int64_t i = 0; i < ids.numel(); ++i)
    data[i] = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(vocab)));
  return ids;
}

void CommonBenchArgs::apply() const {
  if (threads > 0) core::set_num_threads(threads);
}

void add_common_bench_flags(CLI::App* cmd, CommonBenchArgs& common) {
  cmd->add_flag("--json", common.json, "Print one JSON line");
  cmd->add_option("--threads", common.threads, "Threads (default: SIEVE_NUM_THREADS, OMP_NUM_THREADS or all cores)");
}

void emit_bench_result(bool json, const nlohmann::json& result, const std::string& human) {
  std::printf("%s\n", json ? result.dump().c_str() : human.c_str());
}

}  // namespace sieve::apps
