// Uniformly random token ids for model tests.
#pragma once

#include <cstdint>
#include <vector>

#include "sieve/core/rng.h"
#include "sieve/core/tensor.h"

namespace sieve::testing {

// int64 [batch, tokens], each id uniform in [0, vocab), from `seed`.
inline core::Tensor token_ids(std::int64_t batch, std::int64_t tokens, std::int64_t vocab, std::uint64_t seed) {
  core::Rng rng(seed);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(batch * tokens));
  for (auto& id : ids) id = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(vocab)));
  return core::Tensor::from_vector(ids, {batch, tokens});
}

}  // namespace sieve::testing
