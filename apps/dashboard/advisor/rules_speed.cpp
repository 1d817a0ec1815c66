// Speed and memory rules: throughput far below what the machine's GEMMs do (a larger batch, bf16
// where it is faster here, activation checkpointing only when memory is short), and a process
// near the machine's memory (activation checkpointing, LoRA, or a smaller micro-batch).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "apps/dashboard/advisor/rules.h"

namespace sieve::dashboard {
namespace {

// The run does less than 5% of the FLOP/s the machine's GEMMs reach on its own layer shapes.
// Attention, norms, the optimizer and the data loader take time too, yet on 2 shared cores of
// an AVX-512 Xeon the demo preset trained at 30–80% of it (bf16 10,800 tokens/s against 798
// GFLOP/s, fp32 8,900 against 279), and at ~11% while another job held the cores: under 5%
// the time goes somewhere else (tiny GEMMs, a starved process).
constexpr double kLowUtilization = 0.05;
// FLOPs per parameter and token of one training step: 2 forward, 4 backward.
constexpr double kFlopsPerParameterToken = 6.0;
// Rows per GEMM below which the products run short of their steady throughput: the most rows
// `--precision auto` times (train/precision_choice.cpp).
constexpr double kEfficientGemmRows = 1024.0;
// bf16 is worth suggesting when its GEMM is at least this much faster here (auto's own margin:
// closer is measurement noise).
constexpr double kBf16Speedup = 1.05;
// Memory is short when the run's peak RSS is above 60% of the machine's: doubling the batch
// would not fit beside it without recomputing activations.
constexpr double kMemoryShort = 0.6;
// Near the limit: above 85% of the machine's memory, the page cache and other processes are
// squeezed out and a longer context or a larger batch would swap or be killed.
constexpr double kMemoryNearLimit = 0.85;

// tokens/s while training: the median over the train records after the first (whose interval
// includes start-up), or that first one when it is all there is.
double training_tokens_per_s(const RunSeries& series) {
  std::vector<Point> rates = points(series.train, "tokens_per_s");
  if (rates.size() > 1) rates.erase(rates.begin());
  std::vector<double> values;
  for (const Point& point : rates) values.push_back(point.value);
  return median(values);
}

}  // namespace

std::optional<Suggestion> throughput_rule(const RunInput& run) {
  const std::string precision = run_precision(run.series);
  const bool bf16_run = precision == "bf16";
  const double gemm = bf16_run && run.machine.gemm_gflops_bf16 > 0.0 ? run.machine.gemm_gflops_bf16
                                                                       : run.machine.gemm_gflops_fp32;
  const double parameters = gemm_parameters(run);
  const double tokens_per_s = training_tokens_per_s(run.series);
  if (gemm <= 0.0 || parameters <= 0.0 || tokens_per_s <= 0.0) return std::nullopt;
  const double achieved = kFlopsPerParameterToken * parameters * tokens_per_s / 1e9;
  if (achieved >= kLowUtilization * gemm) return std::nullopt;

  Suggestion suggestion{
      .rule = "throughput",
      .title = "Throughput is far below what this machine's matrix products reach",
      .evidence = fmt::format("{} tokens/s x 6 x {} parameters = {} GFLOP/s, {:.2g}% of the {} GFLOP/s the {} "
                              "GEMMs of this model reach here ({} cores, {})",
                              number_text(tokens_per_s), number_text(parameters), number_text(achieved),
                              100.0 * achieved / gemm, number_text(gemm), bf16_run ? "bf16" : "fp32",
                              run.machine.cores, run.machine.isa),
      .expected_effect = "more tokens per second at the same loss per token",
      .severity = "info",
      .change = {},
      .measure = "tokens_per_s"};
  std::vector<std::string> why;
  const double batch = number_or(run.series.start, "batch", 0.0);
  const double context = number_or(run.series.start, "context", 0.0);
  if (batch > 0.0 && context > 0.0 && batch * context < kEfficientGemmRows) {
    const double larger = std::max(2.0 * batch, std::ceil(kEfficientGemmRows / context));
    suggestion.change["--batch"] = number_text(larger);
    why.push_back(fmt::format("a micro-batch of {} x {} = {} token rows keeps each GEMM short of the {} rows where "
                              "it runs at full speed",
                              batch, context, batch * context, kEfficientGemmRows));
    const double rss = peak_rss_mb(run.series);
    if (run.machine.memory_mb > 0.0 && rss > kMemoryShort * run.machine.memory_mb &&
        !command_switch(run.command, "--activation-checkpointing")) {
      suggestion.change["--activation-checkpointing"] = "";
      why.push_back(fmt::format("the run already peaks at {} of {} MiB, so the larger batch needs its activations "
                                "recomputed",
                                number_text(rss), number_text(run.machine.memory_mb)));
    }
  }
  if (precision == "fp32" && run.machine.bf16_native &&
      run.machine.gemm_gflops_bf16 >= kBf16Speedup * run.machine.gemm_gflops_fp32) {
    suggestion.change["--precision"] = "bf16";
    why.push_back(fmt::format("bf16 GEMMs run at {} GFLOP/s here, {:.2f}x fp32", number_text(run.machine.gemm_gflops_bf16),
                              run.machine.gemm_gflops_bf16 / run.machine.gemm_gflops_fp32));
  }
  if (why.empty())
    why.push_back("no flag of the run explains it: look for other processes competing for the cores");
  suggestion.evidence += fmt::format("; {}.", fmt::join(why, "; "));
  return suggestion;
}

std::optional<Suggestion> memory_rule(const RunInput& run) {
  const double rss = peak_rss_mb(run.series);
  const double memory = run.machine.memory_mb;
  if (memory <= 0.0 || rss <= kMemoryNearLimit * memory) return std::nullopt;
  Suggestion suggestion{.rule = "memory",
                        .title = "",
                        .evidence = fmt::format("peak resident memory {} MiB is {:.0f}% of this machine's {} MiB",
                                                number_text(rss), 100.0 * rss / memory, number_text(memory)),
                        .expected_effect = "a lower peak memory, leaving room for a longer context or a larger batch",
                        .severity = "warning",
                        .change = {},
                        .measure = "peak_rss_mb"};
  const double batch = number_or(run.series.start, "batch", 0.0);
  const double accumulation = std::max(1.0, number_or(run.series.start, "grad_accum", 1.0));
  if (!command_switch(run.command, "--activation-checkpointing")) {
    suggestion.title = "Memory is near the limit: recompute activations in backward (activation checkpointing)";
    suggestion.change["--activation-checkpointing"] = "";
    suggestion.expected_effect += ", for about one extra forward pass per step";
  } else if (command_verb(run.command) == "finetune" && !command_switch(run.command, "--lora")) {
    suggestion.title = "Memory is near the limit: fine-tune LoRA adapters instead of every weight";
    suggestion.change["--lora"] = "";
    suggestion.expected_effect += " (no gradients or optimizer state for the frozen base)";
  } else if (batch >= 2.0) {
    suggestion.title = "Memory is near the limit: halve the micro-batch and accumulate twice as many";
    suggestion.change["--batch"] = number_text(std::floor(batch / 2.0));
    suggestion.change["--grad-accum"] = number_text(2.0 * accumulation);
    suggestion.expected_effect += " at the same effective batch";
  } else {
    suggestion.title = "Memory is near the limit: use a smaller model or a shorter --context";
  }
  return suggestion;
}

}  // namespace sieve::dashboard
