// The language-model training loop: batches from a token shard, AdamW with a cosine schedule
// and gradient clipping, periodic validation perplexity, atomic checkpoints that a later run
// resumes from, and a progress line with loss, tokens/s and ETA.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>

#include "sieve/data/batch_loader.h"
#include "sieve/nn/models/llama.h"
#include "sieve/train/adamw.h"
#include "sieve/train/lr_schedule.h"

namespace sieve::train {

struct TrainerOptions {
  std::int64_t steps = 1000;      // optimizer steps in the whole run
  std::int64_t batch = 8;         // sequences per step
  std::int64_t context = 256;     // tokens per sequence
  CosineSchedule schedule;        // total_steps is set from `steps`
  AdamWOptions adamw;
  double clip_grad_norm = 1.0;    // <= 0: off
  std::uint64_t seed = 0;         // data order
  std::int64_t eval_interval = 0;   // validate every N steps (0: only before and after)
  std::int64_t eval_windows = 64;   // validation windows of `context` tokens (0: all)
  std::int64_t log_interval = 10;
  std::filesystem::path run_dir;    // checkpoints go to run_dir/checkpoints (empty: none)
  std::int64_t checkpoint_interval = 0;  // 0: only at the end
  int keep_checkpoints = 3;
  bool resume = false;            // continue from the newest complete checkpoint
  double max_seconds = 0.0;       // stop (and checkpoint) after this much training time; 0: none
};

struct TrainResult {
  std::int64_t steps_done = 0;
  double initial_val_loss = 0.0;
  double final_val_loss = 0.0;
  double last_train_loss = 0.0;
  double tokens_per_second = 0.0;
  bool interrupted = false;
};

class Trainer {
 public:
  Trainer(nn::LlamaForCausalLM& model, data::TokenShard train, data::TokenShard validation, TrainerOptions options);

  // Mean next-token loss over the validation windows (perplexity = exp of it).
  double evaluate();
  // Runs to options.steps (or the time limit, or until `stop` becomes true — e.g. set by a
  // SIGINT handler), checkpointing along the way; the loss of each step goes to `on_step` if set.
  TrainResult run(const std::atomic<bool>* stop = nullptr);
  // One optimizer step; returns the training loss.
  double step();

  std::int64_t steps_done() const { return step_; }
  std::function<void(std::int64_t step, double loss)> on_step;

 private:
  void save();
  void try_resume();

  nn::LlamaForCausalLM& model_;
  data::BatchLoader loader_;
  data::TokenShard validation_;
  TrainerOptions options_;
  AdamW optimizer_;
  std::int64_t step_ = 0;
};

}  // namespace sieve::train
