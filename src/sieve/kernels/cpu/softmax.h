// Softmax over the last dimension, forward and backward.
//
// Shapes: rows = number of vectors, C = channels; x, y, dy, dx are [rows, C] of `dtype`,
// contiguous row-major. Only f32 is implemented; other dtypes throw core::Error naming the dtype.
// Rows are shifted by their max before a vectorised exp (~1 ulp) and summed in f32 over 64
// (AVX-512) or 32 (AVX2) partial sums, in double on the scalar fallback. -inf entries get
// probability 0; a row that is all -inf gives NaN (as PyTorch).
#pragma once

#include <cstdint>

#include "sieve/core/dtype.h"

namespace sieve::kernels::cpu {

// y = exp(x - max) / sum(exp(x - max)). y may alias x.
void softmax_forward(core::DType dtype, std::int64_t rows, std::int64_t C, const void* x, void* y);

// dx = y * (dy - sum(y * dy)), from the forward's output y. dx may alias dy.
void softmax_backward(core::DType dtype, std::int64_t rows, std::int64_t C, const void* y, const void* dy,
                      void* dx);

}  // namespace sieve::kernels::cpu
