// The training loop for any TrainingTask: gradient accumulation, dynamic loss scaling, AdamW with
// a cosine schedule and gradient clipping, periodic validation, atomic checkpoints that a later
// run resumes from bit-identically, a progress line with loss, throughput and ETA, and a
// JSON-lines metrics stream (docs/metrics.md).
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>

#include <nlohmann/json.hpp>

#include "sieve/ops/precision.h"
#include "sieve/train/adamw.h"
#include "sieve/train/loss_scaler.h"
#include "sieve/train/lr_schedule.h"
#include "sieve/train/metrics_log.h"
#include "sieve/train/training_task.h"

namespace sieve::train {

struct TrainingLoopOptions {
  std::int64_t steps = 1000;      // training steps in the whole run (skipped ones included)
  std::int64_t gradient_accumulation_steps = 1;  // micro-batches per optimizer step
  CosineSchedule schedule;        // total_steps is set from `steps`; indexed by applied steps
  AdamWOptions adamw;
  double clip_grad_norm = 1.0;    // <= 0: off
  std::int64_t eval_interval = 0;   // validate every N steps (0: only before and after)
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
};

struct TrainResult {
  std::int64_t steps_done = 0;     // training steps, skipped ones included
  std::int64_t applied_steps = 0;  // optimizer updates made (run total, across resumes)
  std::int64_t skipped_steps = 0;  // steps skipped for inf/NaN gradients (run total)
  float loss_scale = 1.0f;         // the scale at the end
  double initial_val_loss = 0.0;
  double final_val_loss = 0.0;
  double last_train_loss = 0.0;
  double tokens_per_second = 0.0;  // items (TrainingTask::item_unit) per second
  bool interrupted = false;
};

class TrainingLoop {
 public:
  // `task` must outlive the loop. `start_record`: fields the metrics stream's "start" record
  // carries besides the loop's own (e.g. the LM's batch and context). Throws core::UserError for
  // bad options and, with options.resume, for a checkpoint that does not fit the task.
  TrainingLoop(TrainingTask& task, TrainingLoopOptions options, nlohmann::json start_record = nlohmann::json::object());

  // Runs to options.steps (or the time limit, or until `stop` becomes true — e.g. set by a
  // SIGINT handler), checkpointing along the way, validating before and after.
  TrainResult run(const std::atomic<bool>* stop = nullptr);
  // One training step: gradient_accumulation_steps micro-batches, then one optimizer update
  // unless the gradients overflowed. Throws core::UserError when training diverged (see
  // TrainingLoopOptions::loss_scaling).
  StepResult step();
  // Validation through the task, printed and written to the metrics stream.
  Evaluation evaluate_and_log();

  std::int64_t steps_done() const { return step_; }
  const LossScaler& loss_scaler() const { return scaler_; }
  const AdamW& optimizer() const { return optimizer_; }

  // Called after each step of run() with the step number (1-based) and the step's result.
  std::function<void(std::int64_t step, const StepResult& result)> on_step;
  // Called on the accumulated (still scaled) gradients of every step; tests use it.
  GradientHook gradient_hook;

 private:
  void save();
  void try_resume();

  TrainingTask& task_;
  TrainingLoopOptions options_;
  nlohmann::json start_record_;
  nn::NamedTensors parameters_;  // the task's trained parameters, in checkpoint order
  AdamW optimizer_;
  LossScaler scaler_;
  MetricsLog metrics_;
  std::int64_t step_ = 0;
  std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
};

}  // namespace sieve::train
