// Trains a model directory on a dataset through sieve::train::MixedPrecisionTrainer, the API
// shown in the issue, and prints what the run decided and achieved.
//
//   train_mixed_precision [MODEL_DIR [DATASET [EPOCHS]]]
//
// MODEL_DIR defaults to models/sieve-base (make one with the command in examples/README.md),
// DATASET to gcide (Debian's dict-gcide), EPOCHS to 10. The trained model, checkpoints and
// metrics go to MODEL_DIR-trained; MODEL_DIR itself is only read.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "sieve/core/error.h"
#include "sieve/ops/precision.h"
#include "sieve/train/mixed_precision_trainer.h"

int main(int argc, char** argv) {
  const std::string model_path = argc > 1 ? argv[1] : "models/sieve-base";
  const std::string dataset = argc > 2 ? argv[2] : "gcide";
  const double epochs = argc > 3 ? std::atof(argv[3]) : 10;
  try {
    sieve::train::MixedPrecisionTrainer trainer({
        .model_path = model_path,
        .precision_mode = "auto",            // fp32 | bf16 | fp16 | tf32 | auto
        .gradient_accumulation_steps = 8,
        .loss_scale_window = 1024});
    const sieve::train::MixedPrecisionTrainResult result = trainer.train({.dataset = dataset, .epochs = epochs});

    std::printf("precision: %s%s\n", sieve::ops::describe(result.precision.policy).c_str(),
                result.loss_scaling ? " with dynamic loss scaling" : "");
    std::printf("steps: %lld of %lld tokens (%.3g epochs of %lld train tokens)\n",
                static_cast<long long>(result.steps), static_cast<long long>(result.tokens_per_step), result.epochs,
                static_cast<long long>(result.train_tokens));
    if (!result.losses.empty())
      std::printf("train loss: %.4f -> %.4f\n", result.losses.front(), result.losses.back());
    std::printf("validation loss: %.4f -> %.4f\n", result.run.initial_val_loss, result.run.final_val_loss);
    std::printf("model saved to %s\n", result.model_dir.c_str());
  } catch (const sieve::core::UserError& error) {
    std::fprintf(stderr, "train_mixed_precision: %s\n", error.what());
    return 2;
  }
  return 0;
}
