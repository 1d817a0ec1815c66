#include "sieve/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "sieve/autograd/engine.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/train/checkpoint.h"
#include "sieve/train/grad_clip.h"
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

}  // namespace

Trainer::Trainer(nn::LlamaForCausalLM& model, data::TokenShard train, data::TokenShard validation,
                 TrainerOptions options)
    : model_(model),
      loader_(std::move(train), options.seed),
      validation_(std::move(validation)),
      options_(std::move(options)),
      optimizer_(model.named_parameters(), options_.adamw) {
  SIEVE_USER_CHECK(options_.steps > 0, "--steps must be > 0, got {}", options_.steps);
  SIEVE_USER_CHECK(options_.batch > 0, "--batch must be > 0, got {}", options_.batch);
  SIEVE_USER_CHECK(options_.context > 0 && options_.context <= model.config().max_position_embeddings,
                   "--context must be in [1, {}] (the model's max_position_embeddings), got {}",
                   model.config().max_position_embeddings, options_.context);
  SIEVE_USER_CHECK(loader_.shard().vocab_size() <= model.config().vocab_size,
                   "the dataset's vocabulary ({}) is larger than the model's ({})", loader_.shard().vocab_size(),
                   model.config().vocab_size);
  options_.schedule.total_steps = options_.steps;
  if (options_.resume) try_resume();
}

double Trainer::evaluate() {
  autograd::NoGradGuard no_grad;
  const bool was_training = model_.training();
  model_.set_training(false);
  data::EvalWindows windows(data::TokenShard::open(validation_.path()), options_.context, options_.eval_windows);
  double total = 0.0;
  std::int64_t rows = 0;
  while (auto batch = windows.next_batch(options_.batch)) {
    const std::int64_t n = batch->inputs.size(0);
    total += model_.loss(batch->inputs, batch->targets).item() * static_cast<double>(n);
    rows += n;
  }
  model_.set_training(was_training);
  return total / static_cast<double>(rows);
}

double Trainer::step() {
  const data::Batch batch = loader_.next_batch(options_.batch, options_.context);
  model_.zero_grad();
  core::Tensor loss = model_.loss(batch.inputs, batch.targets);
  autograd::backward(loss);
  const double value = loss.item();
  const double norm = clip_gradient_norm(model_.parameters(), options_.clip_grad_norm);
  // A non-finite loss or gradient would poison the weights and every later step: stop before
  // the update, so the last checkpoint and the weights in memory stay usable.
  SIEVE_USER_CHECK(std::isfinite(value) && std::isfinite(norm),
                   "training diverged at step {}: loss {}, gradient norm {} (try a lower --lr)", step_ + 1, value,
                   norm);
  optimizer_.step(options_.schedule.lr_at(step_));
  ++step_;
  return value;
}

TrainResult Trainer::run(const std::atomic<bool>* stop) {
  using Clock = std::chrono::steady_clock;
  TrainResult result;
  model_.set_training(true);
  result.initial_val_loss = evaluate();
  std::fprintf(stderr, "step %lld: validation loss %.4f, perplexity %.2f\n", static_cast<long long>(step_),
               result.initial_val_loss, std::exp(result.initial_val_loss));
  const std::int64_t tokens_per_step = options_.batch * options_.context;
  const std::int64_t first_step = step_;
  ProgressLine progress(options_.steps - first_step);
  const auto start = Clock::now();
  double loss_sum = 0.0;
  std::int64_t loss_count = 0;
  while (step_ < options_.steps) {
    const double loss = step();
    loss_sum += loss;
    ++loss_count;
    result.last_train_loss = loss;
    if (on_step) on_step(step_, loss);
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const std::int64_t done = step_ - first_step;
    if (step_ % options_.log_interval == 0 || step_ == options_.steps) {
      progress.report(done, fmt::format("step {}/{} | loss {:.4f} | lr {:.2e} | {:.0f} tok/s", step_, options_.steps,
                                        loss_sum / static_cast<double>(loss_count),
                                        options_.schedule.lr_at(step_ - 1),
                                        static_cast<double>(done * tokens_per_step) / elapsed));
      loss_sum = 0.0;
      loss_count = 0;
    }
    if (options_.eval_interval > 0 && step_ % options_.eval_interval == 0 && step_ < options_.steps) {
      const double val = evaluate();
      std::fprintf(stderr, "step %lld: validation loss %.4f, perplexity %.2f\n", static_cast<long long>(step_), val,
                   std::exp(val));
    }
    if (options_.checkpoint_interval > 0 && step_ % options_.checkpoint_interval == 0) save();
    const bool out_of_time = options_.max_seconds > 0.0 && elapsed >= options_.max_seconds;
    if ((stop != nullptr && stop->load()) || out_of_time) {
      result.interrupted = true;
      std::fprintf(stderr, "\nstopping at step %lld (%s)\n", static_cast<long long>(step_),
                   out_of_time ? "time limit" : "interrupted");
      break;
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.steps_done = step_;
  result.tokens_per_second = static_cast<double>((step_ - first_step) * tokens_per_step) / std::max(seconds, 1e-9);
  save();
  result.final_val_loss = evaluate();
  std::fprintf(stderr, "step %lld: validation loss %.4f, perplexity %.2f\n", static_cast<long long>(step_),
               result.final_val_loss, std::exp(result.final_val_loss));
  return result;
}

void Trainer::save() {
  if (options_.run_dir.empty()) return;
  CheckpointContents contents;
  contents.step = step_;
  contents.state = {{"loader", loader_state_json(loader_.state())}, {"optimizer_steps", optimizer_.steps_taken()}};
  contents.model = model_.named_parameters();
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
  for (auto& [name, parameter] : model_.named_parameters()) {
    auto it = weights.find(name);
    SIEVE_USER_CHECK(it != weights.end() && it->second.shape() == parameter.shape(),
                     "checkpoint {} does not match the model at '{}'", latest->string(), name);
    parameter.copy_from(it->second);
  }
  try {
    optimizer_.load_state(contents.optimizer, contents.state.at("optimizer_steps").get<std::int64_t>());
    loader_.restore(loader_state_from(contents.state.at("loader")));
  } catch (const nlohmann::json::exception& e) {
    core::throw_user_error("checkpoint {} has a malformed state.json: {}", latest->string(), e.what());
  }
  step_ = contents.step;
  std::fprintf(stderr, "resumed from %s (step %lld)\n", latest->c_str(), static_cast<long long>(step_));
}

}  // namespace sieve::train
