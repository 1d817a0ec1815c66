// Matrix products through oneDNN. Letters: N rows (tokens), K input features, M output features.
#pragma once

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

// a [..., N, K] · b [..., K, M] → [..., N, M]. Leading dims must match, or b may be 2-D
// (shared by every batch).
Tensor matmul(const Tensor& a, const Tensor& b);
// x [..., K] · weightᵀ (+ bias): weight is [M, K] (PyTorch / safetensors layout), bias [M]
// or undefined. Gradients for x, weight and bias come from two GEMMs and a row sum.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

}  // namespace sieve::ops
