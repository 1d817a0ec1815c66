// The language-model training loop: batches from a token shard, gradient accumulation, dynamic
// loss scaling, AdamW with a cosine schedule and gradient clipping, periodic validation
// perplexity, atomic checkpoints that a later run resumes from bit-identically, a progress line
// with loss, tokens/s and ETA, and a JSON-lines metrics stream (docs/metrics.md).
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <limits>

#include "sieve/data/batch_loader.h"
#include "sieve/nn/models/llama.h"
#include "sieve/ops/precision.h"
#include "sieve/train/adamw.h"
#include "sieve/train/lr_schedule.h"
#include "sieve/train/metrics_log.h"
#include "sieve/train/train_step.h"

namespace sieve::train {

struct TrainerOptions {
  std::int64_t steps = 1000;      // training steps in the whole run (skipped ones included)
  std::int64_t batch = 8;         // sequences per micro-batch
  std::int64_t gradient_accumulation_steps = 1;  // micro-batches per optimizer step
  std::int64_t context = 256;     // tokens per sequence
  CosineSchedule schedule;        // total_steps is set from `steps`; indexed by applied steps
  AdamWOptions adamw;
  double clip_grad_norm = 1.0;    // <= 0: off
  std::uint64_t seed = 0;         // data order
  std::int64_t eval_interval = 0;   // validate every N steps (0: only before and after)
  std::int64_t eval_windows = 64;   // validation windows of `context` tokens (0: all)
  std::int64_t log_interval = 10;   // progress and metrics line every N steps (<= 0: last step only)
  std::filesystem::path run_dir;    // checkpoints go to run_dir/checkpoints, metrics to
                                    // run_dir/metrics.jsonl (empty: neither)
  std::int64_t checkpoint_interval = 0;  // 0: only at the end
  int keep_checkpoints = 3;
  bool resume = false;            // continue from the newest complete checkpoint
  double max_seconds = 0.0;       // stop (and checkpoint) after this much training time; 0: none
  // The compute and activation-storage precision of forward and backward (ops/precision.h);
  // parameters, gradients and optimizer state stay f32 whatever it says.
  ops::PrecisionPolicy precision;
  // Dynamic loss scaling (see loss_scaler.h). Meant for fp16 compute; settable on its own so
  // the machinery can be exercised in fp32. Off: scale 1, and a non-finite gradient stops the
  // run as diverged. On: such a step is skipped and the scale backs off; only an overflow at
  // min_loss_scale stops the run.
  bool loss_scaling = false;
  std::int64_t loss_scale_window = 1000;
  float initial_loss_scale = 65536.0f;
  int loss_scale_hysteresis = 1;
  float min_loss_scale = 1.0f;
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

// Throws core::UserError naming --scorer-warmup-steps / --scorer-distill-weight when steps < 0,
// the weight is not a finite number > 0, or steps > 0 on a model without sparse layers with a
// scorer (nothing to warm up: almost certainly a mistake in the attention flags).
void check_scorer_warmup(const nn::LlamaForCausalLM& model, std::int64_t steps, float weight);
// Throws core::UserError naming --scorer-distill-emphasis unless alpha is a finite number >= 0.
void check_scorer_distill_emphasis(float alpha);

// Dense-to-sparse blend (NOTE [Dense blend] in nn/attention/sparse.cpp) annealed over the first
// `steps` steps: the dense share at `step` is 1 − step / steps, and 0 from `steps` on.
float dense_blend_share(std::int64_t step, std::int64_t steps);
// Throws core::UserError naming --dense-blend-steps when steps < 0, or steps > 0 on a model
// without sparse layers with a scorer (nothing to blend).
void check_dense_blend(const nn::LlamaForCausalLM& model, std::int64_t steps);

struct TrainResult {
  std::int64_t steps_done = 0;     // training steps, skipped ones included
  std::int64_t applied_steps = 0;  // optimizer updates made (run total, across resumes)
  std::int64_t skipped_steps = 0;  // steps skipped for inf/NaN gradients (run total)
  float loss_scale = 1.0f;         // the scale at the end
  double initial_val_loss = 0.0;
  double final_val_loss = 0.0;
  double last_train_loss = 0.0;
  double tokens_per_second = 0.0;
  bool interrupted = false;
};

class Trainer {
 public:
  // `auxiliary` (may be null; must outlive the trainer): a module trained beside the model by the
  // loss function (e.g. distillation's hidden-state projection). Its parameters join the
  // optimizer and the checkpoints under the prefix "auxiliary." — they are not part of the model.
  Trainer(nn::LlamaForCausalLM& model, data::TokenShard train, data::TokenShard validation, TrainerOptions options,
          nn::Module* auxiliary = nullptr);

  // Mean next-token loss over the validation windows (perplexity = exp of it).
  double evaluate();
  // Runs to options.steps (or the time limit, or until `stop` becomes true — e.g. set by a
  // SIGINT handler), checkpointing along the way; the loss of each step goes to `on_step` if set.
  TrainResult run(const std::atomic<bool>* stop = nullptr);
  // One training step: gradient_accumulation_steps micro-batches, then one optimizer update
  // unless the gradients overflowed. Throws core::UserError when training diverged (see
  // TrainerOptions::loss_scaling).
  StepResult step();

  std::int64_t steps_done() const { return step_; }
  // The mean per-layer distillation loss of the last step (mean over its micro-batches); NaN when
  // that step was past the scorer warm-up.
  double last_scorer_distillation_loss() const { return last_distill_loss_; }
  const LossScaler& loss_scaler() const { return scaler_; }
  const AdamW& optimizer() const { return optimizer_; }
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
  void save();
  void try_resume();
  void log_eval(double val_loss);

  // The model's parameters, then the auxiliary module's with their prefix.
  nn::NamedTensors trained_parameters() const;

  nn::LlamaForCausalLM& model_;
  nn::Module* auxiliary_;
  data::BatchLoader loader_;
  data::TokenShard validation_;
  TrainerOptions options_;
  AdamW optimizer_;
  LossScaler scaler_;
  MetricsLog metrics_;
  std::int64_t step_ = 0;
  double last_distill_loss_ = std::numeric_limits<double>::quiet_NaN();
  std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
};

}  // namespace sieve::train
