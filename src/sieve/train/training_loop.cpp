#include "sieve/train/training_loop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "sieve/autograd/grad_mode.h"
#include "sieve/core/allocator.h"
#include "sieve/train/checkpoint.h"
#include "sieve/train/progress.h"

namespace sieve::train {
namespace {

LossScalerOptions scaler_options(const TrainingLoopOptions& options) {
  return {.enabled = options.loss_scaling,
          .init_scale = options.initial_loss_scale,
          .growth_interval = options.loss_scale_window,
          .hysteresis = options.loss_scale_hysteresis,
          .min_scale = options.min_loss_scale};
}

std::filesystem::path metrics_path(const TrainingLoopOptions& options) {
  if (options.run_dir.empty()) return {};
  std::filesystem::create_directories(options.run_dir);
  return options.run_dir / kMetricsFile;
}

double allocator_peak_mb() {
  return static_cast<double>(core::allocator().stats().peak_allocated_bytes) / (1024.0 * 1024.0);
}

// Elements of every parameter the run holds, and of those the optimizer updates (the rest are
// frozen: a LoRA base, for example).
std::pair<std::int64_t, std::int64_t> parameter_counts(const nn::NamedTensors& named) {
  std::int64_t all = 0, trainable = 0;
  for (const auto& [name, tensor] : named) {
    all += tensor.numel();
    if (tensor.requires_grad()) trainable += tensor.numel();
  }
  return {all, trainable};
}

std::vector<core::Tensor> tensors_of(const nn::NamedTensors& named) {
  std::vector<core::Tensor> tensors;
  tensors.reserve(named.size());
  for (const auto& [name, tensor] : named) tensors.push_back(tensor);
  return tensors;
}

// Sums of a log interval's steps: the loss over all of them, each term over the steps that
// reported it (a term may come and go, e.g. during a warm-up only).
struct IntervalSums {
  double loss = 0.0;
  std::int64_t steps = 0;
  std::int64_t skipped = 0;
  std::map<std::string, std::pair<double, std::int64_t>> terms;

  void add(const StepResult& result) {
    loss += result.loss;
    ++steps;
    if (result.skipped) ++skipped;
    for (const auto& [name, value] : result.terms) {
      terms[name].first += value;
      ++terms[name].second;
    }
  }
};

}  // namespace

TrainingLoop::TrainingLoop(TrainingTask& task, TrainingLoopOptions options, nlohmann::json start_record)
    : task_(task),
      options_(std::move(options)),
      start_record_(std::move(start_record)),
      parameters_(task.trained_parameters()),
      optimizer_(parameters_, options_.adamw),
      scaler_(scaler_options(options_)),
      metrics_(metrics_path(options_)) {
  SIEVE_USER_CHECK(options_.steps > 0, "--steps must be > 0, got {}", options_.steps);
  SIEVE_USER_CHECK(options_.gradient_accumulation_steps > 0, "--grad-accum must be > 0, got {}",
                   options_.gradient_accumulation_steps);
  options_.schedule.total_steps = options_.steps;
  if (options_.resume) try_resume();
}

Evaluation TrainingLoop::evaluate_and_log() {
  const Evaluation evaluation = task_.evaluate();
  std::string line = fmt::format("step {}: validation loss {:.4f}", step_, evaluation.loss);
  nlohmann::json record{{"event", "eval"}, {"step", step_}, {"val_loss", evaluation.loss}};
  for (const Evaluation::Metric& metric : evaluation.metrics) {
    line += fmt::format(", {} {:.{}f}", metric.label, metric.value, metric.decimals);
    record[metric.key] = metric.value;
  }
  std::fprintf(stderr, "%s\n", line.c_str());
  record["time_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - created_).count();
  record["unix_time"] = unix_time_seconds();
  metrics_.write(record);
  return evaluation;
}

StepResult TrainingLoop::step() {
  const std::int64_t micro_batches = options_.gradient_accumulation_steps;
  task_.begin_step(step_, micro_batches);
  // The schedule follows applied updates: a skipped step does not advance it.
  const float lr = options_.schedule.lr_at(optimizer_.steps_taken());
  StepResult result;
  {
    const ops::PrecisionScope precision(options_.precision);
    const auto loss = [&](std::size_t index, LossTerms& terms) { return task_.micro_batch_loss(index, terms); };
    result = optimizer_step(tensors_of(parameters_), optimizer_, scaler_, static_cast<std::size_t>(micro_batches),
                            loss, lr, options_.clip_grad_norm, gradient_hook);
  }
  result.tokens = task_.items_per_step(micro_batches);
  task_.end_step(result);
  ++step_;
  // A non-finite loss or gradient would poison the weights and every later step: stop before
  // the update, so the last checkpoint and the weights in memory stay usable. With loss
  // scaling an overflow is expected now and then and only skips the step — unless the scale
  // is already at its floor, where backing off further cannot help.
  if (result.skipped && (!scaler_.enabled() || result.loss_scale <= options_.min_loss_scale)) {
    core::throw_user_error("training diverged at step {}: loss {}, gradients not finite{} (try a lower --lr)", step_,
                           result.loss, scaler_.enabled() ? " at the minimum loss scale" : "");
  }
  return result;
}

TrainResult TrainingLoop::run(const std::atomic<bool>* stop) {
  using Clock = std::chrono::steady_clock;
  TrainResult result;
  task_.set_training(true);
  nlohmann::json start{{"event", "start"}, {"step", step_}, {"steps", options_.steps}};
  start.update(start_record_);
  const auto [parameter_count, trainable_count] = parameter_counts(parameters_);
  start.update({{"grad_accum", options_.gradient_accumulation_steps},
                {"parameters", parameter_count},
                {"trainable_parameters", trainable_count},
                {"loss_scaling", scaler_.enabled()},
                {"precision", ops::describe(options_.precision)},
                {"unix_time", unix_time_seconds()}});
  metrics_.write(start);
  result.initial_val_loss = evaluate_and_log().loss;
  const TrainingTask::ItemUnit unit = task_.item_unit();
  const std::int64_t items_per_step = task_.items_per_step(options_.gradient_accumulation_steps);
  const std::int64_t first_step = step_;
  ProgressLine progress(options_.steps - first_step);
  const auto start_time = Clock::now();
  auto interval_start = start_time;
  IntervalSums sums;
  double last_grad_norm = 0.0;
  while (step_ < options_.steps) {
    const StepResult step_result = step();
    sums.add(step_result);
    if (!step_result.skipped) last_grad_norm = step_result.grad_norm;
    result.last_train_loss = step_result.loss;
    if (on_step) on_step(step_, step_result);
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_time).count();
    const std::int64_t done = step_ - first_step;
    const bool log_now = options_.log_interval > 0 && step_ % options_.log_interval == 0;
    if (log_now || step_ == options_.steps) {
      const double mean_loss = sums.loss / static_cast<double>(sums.steps);
      const double interval_seconds = std::max(std::chrono::duration<double>(now - interval_start).count(), 1e-9);
      const double items_per_s = static_cast<double>(sums.steps * items_per_step) / interval_seconds;
      std::string message = fmt::format("step {}/{} | loss {:.4f} | lr {:.2e} | {:.0f} {}/s", step_, options_.steps,
                                        mean_loss, step_result.lr,
                                        static_cast<double>(done * items_per_step) / std::max(elapsed, 1e-9),
                                        unit.abbreviation);
      if (scaler_.enabled())
        message += fmt::format(" | scale {:g} | skipped {}", scaler_.scale(), scaler_.skipped_steps());
      nlohmann::json record{{"event", "train"},
                            {"step", step_},
                            {"applied_steps", optimizer_.steps_taken()},
                            {"loss", mean_loss},
                            {"lr", step_result.lr},
                            {"loss_scale", step_result.loss_scale},
                            {"skipped", sums.skipped},
                            {"skipped_total", scaler_.skipped_steps()},
                            {"grad_norm", last_grad_norm},
                            {unit.metric_key, items_per_s},
                            {"precision", ops::describe(options_.precision)},
                            {"peak_memory_mb", allocator_peak_mb()},
                            {"peak_rss_mb", peak_rss_mb()},
                            {"time_s", std::chrono::duration<double>(now - created_).count()},
                            {"unix_time", unix_time_seconds()}};
      for (const auto& [name, sum_count] : sums.terms) {
        const double mean = sum_count.first / static_cast<double>(sum_count.second);
        message += fmt::format(" | {} {:.4f}", task_.term_label(name), mean);
        record[name] = mean;
      }
      progress.report(done, message);
      metrics_.write(record);
      sums = IntervalSums{};
      interval_start = Clock::now();
    }
    if (options_.eval_interval > 0 && step_ % options_.eval_interval == 0 && step_ < options_.steps)
      evaluate_and_log();
    if (options_.checkpoint_interval > 0 && step_ % options_.checkpoint_interval == 0) save();
    const bool out_of_time = options_.max_seconds > 0.0 && elapsed >= options_.max_seconds;
    if ((stop != nullptr && stop->load()) || out_of_time) {
      result.interrupted = true;
      std::fprintf(stderr, "\nstopping at step %lld (%s)\n", static_cast<long long>(step_),
                   out_of_time ? "time limit" : "interrupted");
      break;
    }
  }
  task_.end_run();
  const double seconds = std::chrono::duration<double>(Clock::now() - start_time).count();
  result.steps_done = step_;
  result.applied_steps = optimizer_.steps_taken();
  result.skipped_steps = scaler_.skipped_steps();
  result.loss_scale = scaler_.scale();
  result.tokens_per_second = static_cast<double>((step_ - first_step) * items_per_step) / std::max(seconds, 1e-9);
  save();
  result.final_val_loss = evaluate_and_log().loss;
  return result;
}

void TrainingLoop::save() {
  if (options_.run_dir.empty()) return;
  CheckpointContents contents;
  contents.step = step_;
  contents.state = {{task_.data_state_key(), task_.data_state()},
                    {"optimizer_steps", optimizer_.steps_taken()},
                    {"loss_scaler", scaler_.state()}};
  contents.model = parameters_;
  contents.optimizer = optimizer_.state();
  save_checkpoint(options_.run_dir / "checkpoints", contents, options_.keep_checkpoints);
}

void TrainingLoop::try_resume() {
  const auto latest = latest_checkpoint(options_.run_dir / "checkpoints");
  if (!latest) {
    std::fprintf(stderr, "no checkpoint in %s: starting from scratch\n", options_.run_dir.c_str());
    return;
  }
  const CheckpointContents contents = load_checkpoint(*latest);
  std::map<std::string, core::Tensor> weights(contents.model.begin(), contents.model.end());
  for (auto& [name, parameter] : parameters_) {
    auto it = weights.find(name);
    SIEVE_USER_CHECK(it != weights.end() && it->second.shape() == parameter.shape(),
                     "checkpoint {} does not match the model at '{}'", latest->string(), name);
    parameter.copy_from(it->second);
  }
  try {
    optimizer_.load_state(contents.optimizer, contents.state.at("optimizer_steps").get<std::int64_t>());
    task_.restore_data_state(contents.state.at(task_.data_state_key()));
    // Checkpoints from before loss scaling have no scaler state: start the scaler afresh.
    if (contents.state.contains("loss_scaler"))
      scaler_.load_state(contents.state.at("loss_scaler").get<LossScalerState>());
  } catch (const nlohmann::json::exception& e) {
    core::throw_user_error("checkpoint {} has a malformed state.json: {}", latest->string(), e.what());
  }
  step_ = contents.step;
  std::fprintf(stderr, "resumed from %s (step %lld)\n", latest->c_str(), static_cast<long long>(step_));
}

}  // namespace sieve::train
