#include "sieve/train/trainer.h"

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

nlohmann::json loader_state_json(const data::LoaderState& state) {
  return {{"rng", state.rng}, {"batches", state.batches}};
}

data::LoaderState loader_state_from(const nlohmann::json& j) {
  data::LoaderState state;
  state.rng = j.at("rng").get<core::Rng::State>();
  state.batches = j.at("batches").get<std::int64_t>();
  return state;
}

LossScalerOptions scaler_options(const TrainerOptions& options) {
  return {.enabled = options.loss_scaling,
          .init_scale = options.initial_loss_scale,
          .growth_interval = options.loss_scale_window,
          .hysteresis = options.loss_scale_hysteresis,
          .min_scale = options.min_loss_scale};
}

std::filesystem::path metrics_path(const TrainerOptions& options) {
  if (options.run_dir.empty()) return {};
  std::filesystem::create_directories(options.run_dir);
  return options.run_dir / kMetricsFile;
}

double allocator_peak_mb() {
  return static_cast<double>(core::allocator().stats().peak_allocated_bytes) / (1024.0 * 1024.0);
}

}  // namespace

void check_scorer_warmup(const nn::LlamaForCausalLM& model, std::int64_t steps, float weight) {
  SIEVE_USER_CHECK(steps >= 0, "--scorer-warmup-steps must be >= 0 (0: off), got {}", steps);
  SIEVE_USER_CHECK(std::isfinite(weight) && weight > 0.0f, "--scorer-distill-weight must be a number > 0, got {}",
                   weight);
  SIEVE_USER_CHECK(steps == 0 || model.scorer_layer_count() > 0,
                   "--scorer-warmup-steps {}: the model has no sparse attention layers (only dense or local ones), "
                   "so there is no scorer to warm up",
                   steps);
}

void check_scorer_distill_emphasis(float alpha) {
  SIEVE_USER_CHECK(std::isfinite(alpha) && alpha >= 0.0f, "--scorer-distill-emphasis must be a number >= 0, got {}",
                   alpha);
}

float dense_blend_share(std::int64_t step, std::int64_t steps) {
  if (step >= steps) return 0.0f;
  return 1.0f - static_cast<float>(step) / static_cast<float>(steps);
}

void check_dense_blend(const nn::LlamaForCausalLM& model, std::int64_t steps) {
  SIEVE_USER_CHECK(steps >= 0, "--dense-blend-steps must be >= 0 (0: off), got {}", steps);
  SIEVE_USER_CHECK(steps == 0 || model.scorer_layer_count() > 0,
                   "--dense-blend-steps {}: the model has no sparse attention layers (only dense or local ones), "
                   "so there is nothing to blend",
                   steps);
}

Trainer::Trainer(nn::LlamaForCausalLM& model, data::TokenShard train, data::TokenShard validation,
                 TrainerOptions options, nn::Module* auxiliary)
    : model_(model),
      auxiliary_(auxiliary),
      loader_(std::move(train), options.seed),
      validation_(std::move(validation)),
      options_(std::move(options)),
      optimizer_(trained_parameters(), options_.adamw),
      scaler_(scaler_options(options_)),
      metrics_(metrics_path(options_)) {
  SIEVE_USER_CHECK(options_.steps > 0, "--steps must be > 0, got {}", options_.steps);
  SIEVE_USER_CHECK(options_.batch > 0, "--batch must be > 0, got {}", options_.batch);
  SIEVE_USER_CHECK(options_.gradient_accumulation_steps > 0, "--grad-accum must be > 0, got {}",
                   options_.gradient_accumulation_steps);
  SIEVE_USER_CHECK(options_.context > 0 && options_.context <= model.config().max_position_embeddings,
                   "--context must be in [1, {}] (the model's max_position_embeddings), got {}",
                   model.config().max_position_embeddings, options_.context);
  SIEVE_USER_CHECK(loader_.shard().vocab_size() <= model.config().vocab_size,
                   "the dataset's vocabulary ({}) is larger than the model's ({})", loader_.shard().vocab_size(),
                   model.config().vocab_size);
  check_scorer_warmup(model, options_.scorer_warmup_steps, options_.scorer_distill_weight);
  check_dense_blend(model, options_.dense_blend_steps);
  check_scorer_distill_emphasis(options_.scorer_distill_emphasis);
  model_.set_scorer_distill_emphasis(options_.scorer_distill_emphasis);
  options_.schedule.total_steps = options_.steps;
  if (options_.resume) try_resume();
}

nn::NamedTensors Trainer::trained_parameters() const {
  nn::NamedTensors named = model_.named_parameters();
  if (auxiliary_ != nullptr)
    for (auto& [name, parameter] : auxiliary_->named_parameters()) named.emplace_back("auxiliary." + name, parameter);
  return named;
}

double Trainer::evaluate() {
  autograd::NoGradGuard no_grad;
  const ops::PrecisionScope precision(options_.precision);  // validate as the model trains
  const bool was_training = model_.training();
  const float blend = model_.dense_blend();
  model_.set_training(false);
  model_.set_dense_blend(0.0f);
  data::EvalWindows windows(data::TokenShard::open(validation_.path()), options_.context, options_.eval_windows);
  double total = 0.0;
  std::int64_t rows = 0;
  while (auto batch = windows.next_batch(options_.batch)) {
    const std::int64_t n = batch->inputs.size(0);
    total += model_.loss(batch->inputs, batch->targets).item() * static_cast<double>(n);
    rows += n;
  }
  model_.set_training(was_training);
  model_.set_dense_blend(blend);
  return total / static_cast<double>(rows);
}

StepResult Trainer::step() {
  std::vector<data::Batch> micro_batches;
  for (std::int64_t i = 0; i < options_.gradient_accumulation_steps; ++i)
    micro_batches.push_back(loader_.next_batch(options_.batch, options_.context));
  // The schedule follows applied updates: a skipped step does not advance it.
  const float lr = options_.schedule.lr_at(optimizer_.steps_taken());
  // The warm-up counts steps run, skipped ones included, so it ends at the same step on resume.
  const bool warm_up = step_ < options_.scorer_warmup_steps;
  model_.set_scorer_distillation(warm_up ? options_.scorer_distill_weight : 0.0f);
  model_.take_scorer_distillation_totals();  // start this step's sums from zero
  model_.set_dense_blend(dense_blend_share(step_, options_.dense_blend_steps));  // by steps run, like the warm-up
  StepResult result;
  {
    const ops::PrecisionScope precision(options_.precision);
    result = optimizer_step(model_, optimizer_, scaler_, micro_batches, lr, options_.clip_grad_norm, gradient_hook,
                            loss_function, auxiliary_);
  }
  // The step's loss is the LM loss: what distillation added is taken back out (optimizer_step
  // reports the mean over the micro-batches of what each loss() returned).
  const nn::LlamaForCausalLM::ScorerDistillationTotals distill = model_.take_scorer_distillation_totals();
  last_distill_loss_ = std::numeric_limits<double>::quiet_NaN();
  if (distill.calls > 0) {
    result.loss -= distill.added / static_cast<double>(micro_batches.size());
    last_distill_loss_ = distill.bce / static_cast<double>(distill.calls);
  }
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

void Trainer::log_eval(double val_loss) {
  std::fprintf(stderr, "step %lld: validation loss %.4f, perplexity %.2f\n", static_cast<long long>(step_), val_loss,
               std::exp(val_loss));
  metrics_.write({{"event", "eval"},
                  {"step", step_},
                  {"val_loss", val_loss},
                  {"val_ppl", std::exp(val_loss)},
                  {"time_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - created_).count()},
                  {"unix_time", unix_time_seconds()}});
}

TrainResult Trainer::run(const std::atomic<bool>* stop) {
  using Clock = std::chrono::steady_clock;
  TrainResult result;
  model_.set_training(true);
  metrics_.write({{"event", "start"},
                  {"step", step_},
                  {"steps", options_.steps},
                  {"batch", options_.batch},
                  {"context", options_.context},
                  {"grad_accum", options_.gradient_accumulation_steps},
                  {"loss_scaling", scaler_.enabled()},
                  {"precision", ops::describe(options_.precision)},
                  {"unix_time", unix_time_seconds()}});
  result.initial_val_loss = evaluate();
  log_eval(result.initial_val_loss);
  const std::int64_t tokens_per_step = options_.batch * options_.context * options_.gradient_accumulation_steps;
  const std::int64_t first_step = step_;
  ProgressLine progress(options_.steps - first_step);
  const auto start = Clock::now();
  auto interval_start = start;
  double loss_sum = 0.0;
  std::int64_t loss_count = 0;
  double distill_sum = 0.0;  // over the interval's warm-up steps
  std::int64_t distill_count = 0;
  std::int64_t interval_skipped = 0;
  LossTerms term_sums;  // over the interval's steps
  double last_grad_norm = 0.0;
  while (step_ < options_.steps) {
    const StepResult step_result = step();
    const double loss = step_result.loss;
    loss_sum += loss;
    ++loss_count;
    if (step_result.skipped) ++interval_skipped;
    else last_grad_norm = step_result.grad_norm;
    for (const auto& [name, value] : step_result.terms) term_sums[name] += value;
    if (std::isfinite(last_distill_loss_)) {
      distill_sum += last_distill_loss_;
      ++distill_count;
    }
    result.last_train_loss = loss;
    if (on_step) on_step(step_, loss);
    if (on_step_result) on_step_result(step_, step_result);
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    const std::int64_t done = step_ - first_step;
    const bool log_now = options_.log_interval > 0 && step_ % options_.log_interval == 0;
    if (log_now || step_ == options_.steps) {
      const double mean_loss = loss_sum / static_cast<double>(loss_count);
      const double interval_seconds = std::max(std::chrono::duration<double>(now - interval_start).count(), 1e-9);
      const double tokens_per_s = static_cast<double>(loss_count * tokens_per_step) / interval_seconds;
      std::string message = fmt::format("step {}/{} | loss {:.4f} | lr {:.2e} | {:.0f} tok/s", step_, options_.steps,
                                        mean_loss, step_result.lr,
                                        static_cast<double>(done * tokens_per_step) / std::max(elapsed, 1e-9));
      if (scaler_.enabled())
        message += fmt::format(" | scale {:g} | skipped {}", scaler_.scale(), scaler_.skipped_steps());
      const double mean_distill = distill_count > 0 ? distill_sum / static_cast<double>(distill_count)
                                                    : std::numeric_limits<double>::quiet_NaN();
      if (distill_count > 0) message += fmt::format(" | scorer distill {:.4f}", mean_distill);
      for (const auto& [name, sum] : term_sums)
        message += fmt::format(" | {} {:.4f}", name, sum / static_cast<double>(loss_count));
      progress.report(done, message);
      nlohmann::json record{{"event", "train"},
                      {"step", step_},
                      {"applied_steps", optimizer_.steps_taken()},
                      {"loss", mean_loss},
                      {"lr", step_result.lr},
                      {"loss_scale", step_result.loss_scale},
                      {"skipped", interval_skipped},
                      {"skipped_total", scaler_.skipped_steps()},
                      {"grad_norm", last_grad_norm},
                      {"tokens_per_s", tokens_per_s},
                      {"precision", ops::describe(options_.precision)},
                      {"peak_memory_mb", allocator_peak_mb()},
                      {"peak_rss_mb", peak_rss_mb()},
                      {"time_s", std::chrono::duration<double>(now - created_).count()},
                      {"unix_time", unix_time_seconds()}};
      if (distill_count > 0) record["scorer_distill_loss"] = mean_distill;
      for (const auto& [name, sum] : term_sums) record[name] = sum / static_cast<double>(loss_count);
      metrics_.write(record);
      loss_sum = 0.0;
      loss_count = 0;
      distill_sum = 0.0;
      distill_count = 0;
      term_sums.clear();
      interval_skipped = 0;
      interval_start = Clock::now();
    }
    if (options_.eval_interval > 0 && step_ % options_.eval_interval == 0 && step_ < options_.steps)
      log_eval(evaluate());
    if (options_.checkpoint_interval > 0 && step_ % options_.checkpoint_interval == 0) save();
    const bool out_of_time = options_.max_seconds > 0.0 && elapsed >= options_.max_seconds;
    if ((stop != nullptr && stop->load()) || out_of_time) {
      result.interrupted = true;
      std::fprintf(stderr, "\nstopping at step %lld (%s)\n", static_cast<long long>(step_),
                   out_of_time ? "time limit" : "interrupted");
      break;
    }
  }
  model_.set_scorer_distillation(0.0f);  // a warm-up cut short by the run's end ends with it
  model_.set_dense_blend(0.0f);          // and so does a blend
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.steps_done = step_;
  result.applied_steps = optimizer_.steps_taken();
  result.skipped_steps = scaler_.skipped_steps();
  result.loss_scale = scaler_.scale();
  result.tokens_per_second = static_cast<double>((step_ - first_step) * tokens_per_step) / std::max(seconds, 1e-9);
  save();
  result.final_val_loss = evaluate();
  log_eval(result.final_val_loss);
  return result;
}

void Trainer::save() {
  if (options_.run_dir.empty()) return;
  CheckpointContents contents;
  contents.step = step_;
  contents.state = {{"loader", loader_state_json(loader_.state())},
                    {"optimizer_steps", optimizer_.steps_taken()},
                    {"loss_scaler", scaler_.state()}};
  contents.model = trained_parameters();
  contents.optimizer = optimizer_.state();
  save_checkpoint(options_.run_dir / "checkpoints", contents, options_.keep_checkpoints);
}

void Trainer::try_resume() {
  const auto latest = latest_checkpoint(options_.run_dir / "checkpoints");
  if (!latest) {
    std::fprintf(stderr, "no checkpoint in %s: starting from scratch\n", options_.run_dir.c_str());
    return;
  }
  const CheckpointContents contents = load_checkpoint(*latest);
  std::map<std::string, core::Tensor> weights(contents.model.begin(), contents.model.end());
  for (auto& [name, parameter] : trained_parameters()) {
    auto it = weights.find(name);
    SIEVE_USER_CHECK(it != weights.end() && it->second.shape() == parameter.shape(),
                     "checkpoint {} does not match the model at '{}'", latest->string(), name);
    parameter.copy_from(it->second);
  }
  try {
    optimizer_.load_state(contents.optimizer, contents.state.at("optimizer_steps").get<std::int64_t>());
    loader_.restore(loader_state_from(contents.state.at("loader")));
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
