#pragma once

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

// Causal depthwise convolution over tokens: x [B, T, C], weight [C, K] (K taps per channel),
// bias [C] or undefined; out [B, T, C] with
//   out[b, t, c] = bias[c] + Σ_{k<K} weight[c, k] · x[b, t − (K − 1) + k, c]
// and zeros before t = 0, so out at t reads only x at t − K + 1 .. t. Differentiable in all
// three. x, weight and bias must be f32. (The pointwise half of a depthwise-separable block is
// ops::linear.)
Tensor causal_depthwise_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias);

}  // namespace sieve::ops
