// Picks the next token from a row of logits: greedy, or temperature with top-k and top-p
// (nucleus) filtering, from a seeded generator so a run is reproducible.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sieve/core/rng.h"

namespace sieve::nn {

struct SamplingOptions {
  float temperature = 1.0f;  // 0 = greedy
  std::int64_t top_k = 0;    // 0 = no limit
  float top_p = 1.0f;        // 1 = no limit
  std::uint64_t seed = 0;
};

// Throws core::UserError naming the option when a value is out of range.
void validate(const SamplingOptions& options);

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);
  std::int64_t sample(std::span<const float> logits);

 private:
  SamplingOptions options_;
  core::Rng rng_;
  std::vector<std::pair<float, std::int64_t>> candidates_;  // reused across calls
};

}  // namespace sieve::nn
