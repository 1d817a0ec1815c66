#pragma once

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

Tensor silu(const Tensor& x);
Tensor gelu(const Tensor& x);  // exact (erf) GELU
// silu(gate) · up, fused (gate and up have the same shape).
Tensor swiglu(const Tensor& gate, const Tensor& up);
// Softmax over the last dimension.
Tensor softmax(const Tensor& x);

}  // namespace sieve::ops
