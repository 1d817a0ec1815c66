// Sparse attention: key sets that cover too little of the dense attention mass (a lower τ keeps
// more keys global; a larger cap lets more of them in).
#include <algorithm>

#include <fmt/format.h>

#include "apps/dashboard/advisor/rules.h"

namespace sieve::dashboard {
namespace {

// Under 70% of the dense attention mass inside the sparse key sets. Sieve's sparse lm-17m at
// 1024 tokens matched dense perplexity at 0.75–0.83 (docs/benchmarks.md, sparse-sweep), so
// below 0.7 the model is likely losing what dense attention would read.
constexpr double kLowCoverage = 0.7;
// Lowering τ below this keeps nearly every scored token: past it, only the cap can add keys.
constexpr double kLowestUsefulThreshold = 0.05;

}  // namespace

std::optional<Suggestion> low_coverage_rule(const RunInput& run) {
  const std::vector<Point> coverage = points(run.series.eval, "dense_mass_coverage");
  if (coverage.empty() || coverage.back().value >= kLowCoverage) return std::nullopt;
  const nlohmann::json& start = run.series.start;
  const double cap = number_or(start, "sparse_global_cap", 0.0);
  const double tau = number_or(start, "sparse_threshold", -1.0);  // null in keep-ratio mode
  const double keep_ratio = number_or(start, "sparse_keep_ratio", 0.0);

  Suggestion suggestion{
      .rule = "low-coverage",
      .title = "",
      .evidence = fmt::format("the sparse key sets cover {:.0f}% of the dense attention mass (step {}, "
                              "dense_mass_coverage {})",
                              100.0 * coverage.back().value, coverage.back().step, number_text(coverage.back().value)),
      .expected_effect = "a higher dense-mass coverage and a lower validation loss, for somewhat slower attention",
      .severity = "info",
      .change = {},
      .measure = "val_loss"};
  if (keep_ratio > 0.0 && keep_ratio < 1.0) {
    suggestion.title = "Sparse attention drops too much: keep a larger share of tokens global";
    suggestion.evidence += fmt::format("; keep-ratio mode keeps {}", number_text(keep_ratio));
    suggestion.change["--sparse-keep-ratio"] = number_text(std::min(1.0, 2.0 * keep_ratio));
  } else if (tau > kLowestUsefulThreshold) {
    suggestion.title = "Sparse attention drops too much: lower the threshold tau so more keys become global";
    suggestion.evidence += fmt::format("; a key becomes global when sigmoid(score) >= tau = {}", number_text(tau));
    suggestion.change["--dynamic-sparse-threshold"] = number_text(tau / 2.0);
  } else if (cap > 0.0) {
    suggestion.title = "Sparse attention drops too much: raise the cap on global keys";
    suggestion.evidence += fmt::format("; tau is already {} and at most {} keys per query are global",
                                       number_text(std::max(tau, 0.0)), number_text(cap));
    suggestion.change["--sparse-global-cap"] = number_text(2.0 * cap);
  } else {
    suggestion.title = "Sparse attention drops too much: lower tau or raise the global cap";
  }
  // The attention flags shape a new model (`sieve train --out`); a model directory keeps the
  // attention of its config.json.
  const std::string verb = command_verb(run.command);
  if (!verb.empty() && (verb != "train" || command_flag(run.command, "--model-path"))) {
    suggestion.evidence += "; this run trained an existing model directory, so set these in its config.json's "
                           "\"attention\" section instead";
    suggestion.change.clear();
  }
  return suggestion;
}

}  // namespace sieve::dashboard
