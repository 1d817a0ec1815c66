// Reductions over f32 arrays, accumulated in double so that long sums (gradient norms over
// millions of parameters, bias gradients over many tokens) keep f32 precision in the result.
//
// Shape letters: R rows (the leading, reduced-or-kept dimension), C columns (the last).
// Inputs are contiguous [R, C] (or [n]); only f32 is implemented and other dtypes fail a
// SIEVE_CHECK naming the dtype. Results do not depend on the thread count: work is cut into
// fixed pieces whose partial sums are combined in a fixed order.
#pragma once

#include <cstdint>

#include "sieve/core/dtype.h"

namespace sieve::kernels::cpu {

// sum of x[i] for i in [0, n); 0 for n == 0.
double sum(core::DType dtype, std::int64_t n, const void* x);

// sum of x[i]^2 for i in [0, n) (the squared L2 norm, for gradient clipping).
double sum_squares(core::DType dtype, std::int64_t n, const void* x);

// out[c] = sum over r of x[r, c]  (out[c] += ... when accumulate): reduces the leading
// dimension, as for a bias gradient or the backward of a broadcast. out is f32 [C].
void sum_rows(core::DType dtype, std::int64_t rows, std::int64_t cols, const void* x, float* out, bool accumulate);

// out[r] = sum over c of x[r, c]. out is f32 [R].
void sum_last_dim(core::DType dtype, std::int64_t rows, std::int64_t cols, const void* x, float* out);

// out[r] = max over c of x[r, c], NaN if the row holds a NaN. cols must be >= 1. out is f32 [R].
void max_last_dim(core::DType dtype, std::int64_t rows, std::int64_t cols, const void* x, float* out);

}  // namespace sieve::kernels::cpu
