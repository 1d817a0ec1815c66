// Padded token sequences and their packing. Each modality's batch is [B, T, C] with its own valid
// lengths (padding at the end); joining several modalities into one sequence per row moves each
// row's valid tokens to the front so that attention's key padding (a length per row) still holds.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sieve/core/tensor.h"

namespace sieve::nn {

using core::Tensor;

struct TokenSequences {
  Tensor tokens;                       // [B, T, C]
  std::vector<std::int64_t> lengths;   // B values in [1, T]
};

// The rows' valid tokens of every part, in part order, then padding: [B, max_b Σ lengths, C].
// Padding rows repeat a valid token (attention masks them by length; pooling ignores them).
// Differentiable in every part's tokens (a gather; the backward scatters).
TokenSequences pack_sequences(std::span<const TokenSequences> parts);

}  // namespace sieve::nn
