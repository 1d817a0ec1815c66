// Stability rules: a loss that spikes, rises or stops being finite (lower the learning rate,
// warm up longer), and fp16 losing steps to overflows (a precision with fp32's range).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "apps/dashboard/advisor/rules.h"

namespace sieve::dashboard {
namespace {

// A logged loss above 1.5× the median of the ones just before it is a spike: a train record's
// loss is a mean over the log interval, which in a healthy run moves by a few percent.
constexpr double kLossSpikeFactor = 1.5;
// How many earlier records that median is taken over: enough to ignore one noisy interval.
constexpr std::size_t kSpikeWindow = 5;
// A gradient norm 10× its recent median: clipping hides such a step's size from the update, but
// the direction came from a region the optimizer should not have reached.
constexpr double kGradSpikeFactor = 10.0;
// The last loss 30% above the best one so far: the run has given back its progress.
constexpr double kLossRiseFactor = 1.3;

// fp16 with dynamic scaling skips a step each time the scale grows (every --loss-scale-window
// clean steps) and a few while it first backs off: more than 5% skipped means the range is
// too narrow for these gradients...
constexpr double kSkippedShare = 0.05;
// ... counted only past the handful the scaler needs to find its first scale.
constexpr double kMinSkipped = 5.0;
// A scale of 16 or less has backed off 12 halvings from the default 65536: small gradients
// underflow fp16 now, and the next overflows stop the run at the floor.
constexpr double kCollapsedLossScale = 16.0;

struct Spike {
  double step = 0.0, value = 0.0, median = 0.0;
};

// The largest jump of `series` over kSpikeWindow-point medians before it, if above `factor`.
std::optional<Spike> worst_spike(const std::vector<Point>& series, double factor) {
  std::optional<Spike> worst;
  for (std::size_t i = 1; i < series.size(); ++i) {
    std::vector<double> before;
    for (std::size_t j = i > kSpikeWindow ? i - kSpikeWindow : 0; j < i; ++j) before.push_back(series[j].value);
    const double m = median(before);
    if (m <= 0.0 || series[i].value <= factor * m) continue;
    if (!worst || series[i].value / m > worst->value / worst->median) worst = Spike{series[i].step, series[i].value, m};
  }
  return worst;
}

// The warm-up the run had: --warmup, else the first logged step at the peak learning rate.
double warmup_steps(const RunInput& run) {
  if (const auto warmup = command_number(run.command, "--warmup"); warmup && *warmup >= 0.0) return *warmup;
  const std::vector<Point> lr = points(run.series.train, "lr");
  double peak = 0.0;
  for (const Point& point : lr) peak = std::max(peak, point.value);
  for (const Point& point : lr)
    if (point.value >= 0.999 * peak) return point.step;
  return 0.0;
}

}  // namespace

std::optional<Suggestion> divergence_rule(const RunInput& run) {
  const std::vector<nlohmann::json>& train = run.series.train;
  std::vector<std::string> evidence;
  // A train record whose loss is null: JSON's non-finite number.
  std::size_t non_finite = 0;
  double first_non_finite = 0.0;
  for (const nlohmann::json& record : train) {
    if (record.contains("loss") && record["loss"].is_null()) {
      if (non_finite++ == 0) first_non_finite = number_or(record, "step", 0.0);
    }
  }
  if (non_finite > 0)
    evidence.push_back(fmt::format("{} logged loss{} not finite (first at step {})", non_finite,
                                   non_finite == 1 ? " was" : "es were", first_non_finite));
  const std::vector<Point> losses = points(train, "loss");
  if (const auto spike = worst_spike(losses, kLossSpikeFactor))
    evidence.push_back(fmt::format("loss {} at step {} is {:.1f}x the median {} of the records before it",
                                   number_text(spike->value), spike->step, spike->value / spike->median,
                                   number_text(spike->median)));
  if (const auto spike = worst_spike(points(train, "grad_norm"), kGradSpikeFactor))
    evidence.push_back(fmt::format("gradient norm {} at step {} is {:.0f}x its recent median {}",
                                   number_text(spike->value), spike->step, spike->value / spike->median,
                                   number_text(spike->median)));
  if (losses.size() >= 2) {
    const auto best = std::min_element(losses.begin(), losses.end(),
                                       [](const Point& a, const Point& b) { return a.value < b.value; });
    if (losses.back().value > kLossRiseFactor * best->value)
      evidence.push_back(fmt::format("the loss rose from its best {} (step {}) to {} (step {})",
                                     number_text(best->value), best->step, number_text(losses.back().value),
                                     losses.back().step));
  }
  if (evidence.empty()) return std::nullopt;

  Suggestion suggestion{.rule = "divergence",
                        .title = "Training is unstable: lower the learning rate and warm up longer",
                        .evidence = fmt::format("{}.", fmt::join(evidence, "; ")),
                        .expected_effect = "a loss that falls without spikes, and a lower validation loss at the end "
                                           "than this run's",
                        .severity = "warning",
                        .change = {},
                        .measure = "val_loss"};
  if (const double lr = peak_lr(run); lr > 0.0) suggestion.change["--lr"] = number_text(lr * 0.5);
  const double steps = number_or(run.series.start, "steps", 0.0);
  const double warmup = std::max(1.0, 2.0 * warmup_steps(run));
  // A warm-up of more than half the run would leave too little at the peak rate to learn.
  if (steps <= 0.0 || warmup <= steps / 2.0) suggestion.change["--warmup"] = number_text(std::round(warmup));
  return suggestion;
}

std::optional<Suggestion> fp16_overflow_rule(const RunInput& run) {
  const RunSeries& series = run.series;
  const auto scaling = series.start.is_object() ? series.start.find("loss_scaling") : series.start.end();
  const bool scaled = scaling != series.start.end() && scaling->is_boolean() && scaling->get<bool>();
  if (series.train.empty() || (run_precision(series) != "fp16" && !scaled)) return std::nullopt;
  const nlohmann::json& last = series.train.back();
  const double step = number_or(last, "step", 0.0);
  const double skipped = number_or(last, "skipped_total", 0.0);
  const double scale = number_or(last, "loss_scale", 0.0);
  const bool many_skipped = step > 0.0 && skipped >= kMinSkipped && skipped > kSkippedShare * step;
  const bool collapsed = scale > 0.0 && scale <= kCollapsedLossScale;
  if (!many_skipped && !collapsed) return std::nullopt;

  std::vector<std::string> evidence;
  evidence.push_back(fmt::format("{} of {} steps skipped for overflowing gradients ({:.0f}%)", skipped, step,
                                 step > 0.0 ? 100.0 * skipped / step : 0.0));
  std::vector<Point> scales = points(series.train, "loss_scale");
  if (!scales.empty())
    evidence.push_back(fmt::format("the loss scale went from {} (step {}) to {}", number_text(scales.front().value),
                                   scales.front().step, number_text(scale)));
  const bool bf16 = run.machine.bf16_native;
  return Suggestion{
      .rule = "fp16-overflows",
      .title = bf16 ? "fp16 overflows cost steps: train in bf16 (fp32's exponent range, this CPU has a bf16 GEMM)"
                    : "fp16 overflows cost steps: train in fp32 (this CPU has no bf16 GEMM, and fp16 is converted "
                      "in software anyway)",
      .evidence = fmt::format("{}.", fmt::join(evidence, "; ")),
      .expected_effect = "no skipped steps: every step updates the model, and no loss scale to tune",
      .severity = "warning",
      .change = {{"--precision", bf16 ? "bf16" : "fp32"}},
      .measure = "skipped_total"};
}

}  // namespace sieve::dashboard
