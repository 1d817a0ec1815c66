// Language-model training: a LanguageModelTask (token-shard batches, next-token loss, validation
// perplexity, the sparse-attention schedules) driven by the TrainingLoop (accumulation, loss
// scaling, AdamW with a cosine schedule, clipping, checkpoints and resume, the metrics stream).
#pragma once

#include <atomic>
#include <functional>

#include "sieve/nn/models/llama.h"
#include "sieve/train/language_model_task.h"
#include "sieve/train/training_loop.h"

namespace sieve::train {

struct TrainerOptions : TrainingLoopOptions {
  std::int64_t batch = 8;         // sequences per micro-batch
  std::int64_t context = 256;     // tokens per sequence
  std::uint64_t seed = 0;         // data order
  std::int64_t eval_windows = 64;   // validation windows of `context` tokens (0: all)
  // Scorer warm-up (NOTE [Scorer distillation] in nn/attention/sparse.cpp): for the first
  // scorer_warmup_steps steps (0: off) the sparse layers' scorers are also trained toward the
  // peak dense attention their tokens draw, the loss gaining scorer_distill_weight · their distillation losses.
  // The reported loss stays the LM loss; the distillation loss is logged beside it.
  std::int64_t scorer_warmup_steps = 0;
  float scorer_distill_weight = 1.0f;
  float scorer_distill_emphasis = 0.0f;  // α: key j's term weighted 1 + α·y_j² (0: plain mean)
  // Dense-to-sparse blend (NOTE [Dense blend] in nn/attention/sparse.cpp): for the first
  // dense_blend_steps steps (0: off) the sparse layers mix dense attention into their output, its
  // share annealed from 1 to 0 (dense_blend_share). Validation always measures the sparse model.
  std::int64_t dense_blend_steps = 0;
};

class Trainer {
 public:
  // `auxiliary` (may be null; must outlive the trainer): a module trained beside the model by the
  // loss function (e.g. distillation's hidden-state projection). Its parameters join the
  // optimizer and the checkpoints under the prefix "auxiliary." — they are not part of the model.
  Trainer(nn::LlamaForCausalLM& model, data::TokenShard train, data::TokenShard validation, TrainerOptions options,
          nn::Module* auxiliary = nullptr);
  Trainer(const Trainer&) = delete;  // the loop holds the task by reference
  Trainer& operator=(const Trainer&) = delete;

  // Mean next-token loss over the validation windows (perplexity = exp of it).
  double evaluate() { return task_.validation_loss(); }
  // Runs to options.steps (or the time limit, or until `stop` becomes true — e.g. set by a
  // SIGINT handler), checkpointing along the way; the loss of each step goes to `on_step` if set.
  TrainResult run(const std::atomic<bool>* stop = nullptr);
  // One training step: gradient_accumulation_steps micro-batches, then one optimizer update
  // unless the gradients overflowed. Throws core::UserError when training diverged (see
  // TrainerOptions::loss_scaling).
  StepResult step();

  std::int64_t steps_done() const { return loop_.steps_done(); }
  // The mean per-layer distillation loss of the last step (mean over its micro-batches); NaN when
  // that step was past the scorer warm-up.
  double last_scorer_distillation_loss() const { return task_.last_scorer_distillation_loss(); }
  const LossScaler& loss_scaler() const { return loop_.loss_scaler(); }
  const AdamW& optimizer() const { return loop_.optimizer(); }
  // Called after each step of run() with the step number (1-based) and its mean loss.
  std::function<void(std::int64_t step, double loss)> on_step;
  // The same with the whole step result.
  std::function<void(std::int64_t step, const StepResult& result)> on_step_result;
  // Called on the accumulated (still scaled) gradients of every step; tests use it.
  GradientHook gradient_hook;
  // When set, each micro-batch's training loss (e.g. distillation, compress/distill/); its terms
  // are averaged over each log interval into the progress line and the metrics stream's "train"
  // records. Validation stays the model's own next-token loss.
  LossFunction loss_function;

 private:
  // Hands the hooks set on this trainer to the task and the loop.
  void connect_hooks();

  LanguageModelTask task_;
  TrainingLoop loop_;
};

}  // namespace sieve::train
