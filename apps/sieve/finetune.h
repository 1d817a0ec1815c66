// `sieve finetune` as a function: the CLI verb (verb_finetune.cpp) and the Python module's
// sieve.finetune both fill a FinetuneRequest and call run_finetune.
#pragma once

#include <atomic>
#include <string>

#include "sieve/compress/qat.h"
#include "sieve/data/dataset_cache.h"
#include "sieve/nn/adapters/lora.h"
#include "sieve/train/trainer.h"

namespace sieve::apps {

// The verb's flags; the defaults are the CLI's.
struct FinetuneRequest {
  FinetuneRequest() {
    trainer.context = 0;  // the model's context
    trainer.steps = 200;
    trainer.adamw.weight_decay = 0.0f;
    trainer.eval_windows = 32;
  }
  std::string model_dir;
  std::string out_dir;
  data::DatasetRecipe dataset;
  bool lora = false;
  nn::LoraOptions lora_options;
  bool merge = false;
  std::string qat;  // empty: off
  compress::QatOptions qat_options;
  float lr = 1e-3f;
  float min_lr = 1e-4f;
  std::int64_t warmup = 10;
  std::string precision = "fp32";
  bool activation_checkpointing = false;
  train::TrainerOptions trainer;
};

// Fine-tunes request.model_dir on the dataset into request.out_dir (the model, or with lora the
// adapters and with merge the merged model too), printing progress and a summary. Setting
// *stop ends training early with a checkpoint, then saves as at the end. Throws
// core::UserError for bad input.
void run_finetune(FinetuneRequest request, const std::atomic<bool>* stop = nullptr);

}  // namespace sieve::apps
