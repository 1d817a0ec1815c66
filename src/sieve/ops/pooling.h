// Pooling of token sequences into one vector each. Letters: B batch, T tokens, C channels.
#pragma once

#include <cstdint>
#include <span>

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

// x [B, T, C] → [B, C]: the mean of x[b, t, :] over the valid tokens t < lengths[b] (B lengths in
// [1, T]; empty: all T). Padding tokens neither count nor receive gradient: dx[b, t] =
// dout[b] / lengths[b] for valid t, 0 for the rest. f32.
Tensor masked_mean(const Tensor& x, std::span<const std::int64_t> lengths = {});
// The same with lengths an int64 tensor [B], or undefined for all T.
Tensor masked_mean(const Tensor& x, const Tensor& lengths);

}  // namespace sieve::ops
