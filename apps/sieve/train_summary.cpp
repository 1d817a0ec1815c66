#include "apps/sieve/train_summary.h"

#include <cmath>
#include <cstdio>

namespace sieve::apps {

void print_train_summary(const train::MixedPrecisionTrainResult& result) {
  std::printf("validation perplexity: %.2f before, %.2f after %lld steps (%.0f tokens/s)\n",
              std::exp(result.run.initial_val_loss), std::exp(result.run.final_val_loss),
              static_cast<long long>(result.run.steps_done), result.run.tokens_per_second);
  if (result.run.skipped_steps > 0 || result.loss_scaling)
    std::printf("loss scaling: %lld step(s) skipped for inf/NaN gradients, final scale %g\n",
                static_cast<long long>(result.run.skipped_steps), static_cast<double>(result.run.loss_scale));
  std::printf("model saved to %s (config.json, model.safetensors, tokenizer.model)\n", result.model_dir.c_str());
  std::fflush(stdout);
}

}  // namespace sieve::apps
