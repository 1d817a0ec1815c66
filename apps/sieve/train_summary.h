// The lines `sieve train` prints after a run (validation perplexity, loss scaling, where the model
// went); sieve.MixedPrecisionTrainer.train in the Python module prints the same.
#pragma once

#include "sieve/train/mixed_precision_trainer.h"

namespace sieve::apps {

void print_train_summary(const train::MixedPrecisionTrainResult& result);

}  // namespace sieve::apps
