// `sieve finetune` as a function: the CLI verb (verb_finetune.cpp) and the Python module's
// sieve.finetune both fill a FinetuneRequest and call run_finetune.
#pragma once

#include <atomic>
#include <string>

#include "apps/sieve/training_run_flags.h"
#include "sieve/compress/qat.h"
#include "sieve/nn/adapters/lora.h"

namespace sieve::apps {

// The verb's flags; the defaults are the CLI's.
struct FinetuneRequest {
  FinetuneRequest() {
    run.trainer.context = 0;  // the model's context
    run.trainer.steps = 200;
    run.trainer.adamw.weight_decay = 0.0f;
    run.trainer.eval_windows = 32;
  }
  std::string model_dir;
  std::string out_dir;
  bool lora = false;
  nn::LoraOptions lora_options;
  bool merge = false;
  std::string qat;  // empty: off
  compress::QatOptions qat_options;
  TrainingRunFlags run;  // dataset, schedule, precision, checkpoints
};

// Fine-tunes request.model_dir on the dataset into request.out_dir (the model, or with lora the
// adapters and with merge the merged model too), printing progress and a summary. Setting
// *stop ends training early with a checkpoint, then saves as at the end. Throws
// core::UserError for bad input.
void run_finetune(FinetuneRequest request, const std::atomic<bool>* stop = nullptr);

}  // namespace sieve::apps
