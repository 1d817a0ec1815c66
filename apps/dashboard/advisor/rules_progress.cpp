// Progress rules: validation loss rising while the training loss falls (overfitting: more data,
// or more regularisation), and a training loss that stays flat for a long stretch (a plateau:
// steps too small to leave it).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "apps/dashboard/advisor/rules.h"

namespace sieve::dashboard {
namespace {

// The validation loss 2% above its best: beyond the noise between passes over the same windows
// (the same windows each time, so it moves only with the model).
constexpr double kValidationRise = 0.02;
// ... with at least two validations after the best, so one bad pass is not a trend.
constexpr std::size_t kValidationsAfterBest = 2;
// ... while the training loss fell by at least 1% over the same steps: the model still learns,
// only not what generalises.
constexpr double kTrainingFall = 0.01;
// A plateau is judged over the later half of the logged steps ...
constexpr double kPlateauShare = 0.5;
// ... holding at least 6 train records, enough to average interval noise ...
constexpr std::size_t kMinPlateauRecords = 6;
// ... in which the mean loss of its last third is within 1% of its first third (a healthy run
// still gains several percent over its second half) ...
constexpr double kPlateauChange = 0.01;
// ... while the learning rate stays at 30% or more of its peak: the cosine schedule has not yet
// annealed it to where a flat loss is the expected end of a run.
constexpr double kPlateauLrShare = 0.3;
// The weight decay suggested against overfitting when the run used less (AdamW's usual value).
constexpr double kRegularisingWeightDecay = 0.1;
// More data: this many times the bytes or documents the run was limited to.
constexpr double kMoreData = 4.0;

double mean_of(const std::vector<Point>& series, std::size_t begin, std::size_t end) {
  double sum = 0.0;
  for (std::size_t i = begin; i < end; ++i) sum += series[i].value;
  return end > begin ? sum / static_cast<double>(end - begin) : 0.0;
}

// The training loss logged at or just after `step` (the last one when none is that late).
double training_loss_at(const std::vector<Point>& losses, double step) {
  for (const Point& point : losses)
    if (point.step >= step) return point.value;
  return losses.back().value;
}

}  // namespace

std::optional<Suggestion> overfitting_rule(const RunInput& run) {
  const std::vector<Point> validation = points(run.series.eval, "val_loss");
  const std::vector<Point> training = points(run.series.train, "loss");
  if (validation.size() < kValidationsAfterBest + 2 || training.size() < 2) return std::nullopt;
  const auto best = std::min_element(validation.begin(), validation.end(),
                                     [](const Point& a, const Point& b) { return a.value < b.value; });
  const Point last = validation.back();
  const auto after_best = static_cast<std::size_t>(validation.end() - best - 1);
  if (after_best < kValidationsAfterBest || last.value <= (1.0 + kValidationRise) * best->value) return std::nullopt;
  const double train_at_best = training_loss_at(training, best->step);
  const double train_last = training.back().value;
  if (train_last >= (1.0 - kTrainingFall) * train_at_best) return std::nullopt;

  Suggestion suggestion{
      .rule = "overfitting",
      .title = "",
      .evidence = fmt::format("validation loss rose from its best {} at step {} to {} at step {} (+{:.1f}%) while "
                              "the training loss fell from {} to {}",
                              number_text(best->value), best->step, number_text(last.value), last.step,
                              100.0 * (last.value / best->value - 1.0), number_text(train_at_best),
                              number_text(train_last)),
      .expected_effect = fmt::format("a lower validation loss at the end, closer to or below the best {}; until then "
                                     "the model of step {} is the better one (stop there)",
                                     number_text(best->value), best->step),
      .severity = "warning",
      .change = {},
      .measure = "val_loss"};
  // The run's data limit, when it had one, is the first thing to lift: more data is the cure
  // that costs no quality.
  if (const auto bytes = command_number(run.command, "--max-bytes"); bytes && *bytes > 0.0) {
    suggestion.title = "Overfitting: the model memorises its limited data — train on more of it";
    suggestion.change["--max-bytes"] = fmt::format("{:.0f}", *bytes * kMoreData);
  } else if (const auto documents = command_number(run.command, "--max-documents"); documents && *documents > 0.0) {
    suggestion.title = "Overfitting: the model memorises its limited data — train on more of it";
    suggestion.change["--max-documents"] = fmt::format("{:.0f}", *documents * kMoreData);
  } else {
    // Without the flag: the verb's default (finetune 0, train and distill AdamW's 0.1).
    const double decay = command_number(run.command, "--weight-decay")
                             .value_or(command_verb(run.command) == "finetune" ? 0.0 : kRegularisingWeightDecay);
    suggestion.title = "Overfitting: stop at the best validation step, or regularise with more weight decay";
    suggestion.change["--weight-decay"] = number_text(std::max(kRegularisingWeightDecay, 2.0 * decay));
  }
  return suggestion;
}

std::optional<Suggestion> plateau_rule(const RunInput& run) {
  const std::vector<Point> losses = points(run.series.train, "loss");
  if (losses.size() < kMinPlateauRecords) return std::nullopt;
  const double first = losses.front().step, last = losses.back().step;
  const double from = first + (1.0 - kPlateauShare) * (last - first);
  std::size_t begin = 0;
  while (begin < losses.size() && losses[begin].step < from) ++begin;
  const std::size_t count = losses.size() - begin;
  if (count < kMinPlateauRecords) return std::nullopt;
  const std::size_t third = count / 3;
  const double head = mean_of(losses, begin, begin + third);
  const double tail = mean_of(losses, losses.size() - third, losses.size());
  if (head <= 0.0 || std::abs(head - tail) > kPlateauChange * head) return std::nullopt;
  const double peak = peak_lr(run);
  const std::vector<Point> lr = points(run.series.train, "lr");
  double lr_at_start = 0.0;
  for (const Point& point : lr)
    if (point.step <= losses[begin].step) lr_at_start = point.value;
  if (peak <= 0.0 || lr_at_start < kPlateauLrShare * peak) return std::nullopt;

  return Suggestion{
      .rule = "plateau",
      .title = "The training loss has stopped falling: try a higher learning rate",
      .evidence = fmt::format("from step {} to step {} the mean training loss went from {} to {} ({:+.2f}%), with "
                              "the learning rate still at {} (peak {}): the steps are too small to leave the flat "
                              "region — or, if a higher rate does not help either, the model is too small for the "
                              "data",
                              losses[begin].step, last, number_text(head), number_text(tail),
                              100.0 * (tail / head - 1.0), number_text(lr_at_start), number_text(peak)),
      .expected_effect = "the loss falls again, and the validation loss ends lower than this run's",
      .severity = "info",
      .change = {{"--lr", number_text(2.0 * peak)}},
      .measure = "val_loss"};
}

}  // namespace sieve::dashboard
