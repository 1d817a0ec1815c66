// The flags `sieve finetune` and `sieve distill` share: the dataset, the optimizer and schedule,
// the step and batch shape, checkpoints and resume, and the precision — and what turns them into
// a train::TrainerOptions and token shards for a given model and run directory.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>

#include "sieve/data/dataset_cache.h"
#include "sieve/data/tokenizer.h"
#include "sieve/nn/models/llama.h"
#include "sieve/train/trainer.h"

namespace sieve::apps {

struct TrainingRunFlags {
  data::DatasetRecipe dataset;
  train::TrainerOptions trainer;  // context 0: the model's max_position_embeddings
  float lr = 1e-3f;
  float min_lr = 1e-4f;
  std::int64_t warmup = 10;
  std::string precision = "fp32";
  bool activation_checkpointing = false;
};

// Adds --dataset (required), --data-dir, --steps, --batch, --grad-accum, --context, --lr,
// --min-lr, --warmup, --weight-decay, --clip, --seed, --eval-interval, --eval-windows,
// --log-interval, --checkpoint-interval, --keep-checkpoints, --resume, --precision,
// --activation-checkpointing, --max-documents, --max-bytes and --val-fraction; the defaults are
// what `flags` holds when called.
void add_training_run_flags(CLI::App* command, TrainingRunFlags& flags);

// The trainer options for training `model` into run_dir: context, precision (its report on
// stderr), schedule and run directory settled; activation checkpointing set on the model.
train::TrainerOptions settle_training_run(const TrainingRunFlags& flags, nn::LlamaForCausalLM& model,
                                          const std::filesystem::path& run_dir);

// The dataset tokenized with `tokenizer` into run_dir/data (reused when the recipe matches).
data::PrepareResult prepare_training_data(const TrainingRunFlags& flags, const data::Tokenizer& tokenizer,
                                          const std::filesystem::path& run_dir);

}  // namespace sieve::apps
