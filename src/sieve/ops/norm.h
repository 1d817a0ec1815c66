#pragma once

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

// x [..., C] · rsqrt(mean(x²) + eps) · weight [C].
Tensor rms_norm(const Tensor& x, const Tensor& weight, float eps);
// (x − mean) · rsqrt(var + eps) · weight + bias; bias may be undefined.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps);

}  // namespace sieve::ops
