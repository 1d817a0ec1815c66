// Train/validation split at document level. Each document goes to validation with probability
// val_fraction, decided by a hash of (seed, document index) alone — so the split does not
// depend on thread count, batch boundaries or anything else in the run, and the same corpus,
// seed and fraction always give the same split.
//
// The hash (two SplitMix64 rounds) is part of the dataset definition: changing it silently
// changes which documents old runs validated on. Don't.
#pragma once

#include <cstdint>

namespace sieve::data {

enum class Split : std::uint8_t { train, validation };

struct SplitOptions {
  double val_fraction = 0.01;
  std::uint64_t seed = 0;
};

// Throws core::UserError unless 0 <= val_fraction < 1.
void validate_split_options(const SplitOptions& options);

Split assign_split(std::uint64_t document_index, const SplitOptions& options);

}  // namespace sieve::data
