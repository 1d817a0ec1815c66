// RMSNorm and LayerNorm over the last dimension, forward and backward.
//
// Shapes: rows = number of vectors normalised (e.g. B*T), C = channels.
//   x, y, dy, dx : [rows, C] of `dtype`, contiguous row-major
//   weight, bias : [C] f32;  dweight, dbias : [C] f32, accumulated (+=)
//   mean, rstd   : [rows] f32, saved by the forward for the backward
// Only f32 activations are implemented; other dtypes throw core::Error naming the dtype.
// Row statistics are reduced in f32 over many independent partial sums (64 with AVX-512, 32 with
// AVX2; the scalar fallback works in double). The backward sums weight gradients over a fixed
// split of the rows that depends only on (rows, C), so results are bit-identical for any
// thread count.
#pragma once

#include <cstdint>

#include "sieve/core/dtype.h"

namespace sieve::kernels::cpu {

// y = x * rstd * weight, rstd = 1 / sqrt(mean(x^2) + eps). rstd may be null (no backward).
// y may alias x.
void rmsnorm_forward(core::DType dtype, std::int64_t rows, std::int64_t C, const void* x,
                     const float* weight, float eps, void* y, float* rstd);

// dx = rstd * (dy*w) - rstd^3 * x * mean(dy*w*x);  dweight += sum_rows dy * x * rstd.
// dx may alias dy.
void rmsnorm_backward(core::DType dtype, std::int64_t rows, std::int64_t C, const void* x,
                      const float* weight, const float* rstd, const void* dy, void* dx, float* dweight);

// y = (x - mean) * rstd * weight + bias, rstd = 1 / sqrt(var(x) + eps) with the biased
// variance (as PyTorch). bias may be null (no bias); mean and rstd may be null (no backward).
// y may alias x.
void layernorm_forward(core::DType dtype, std::int64_t rows, std::int64_t C, const void* x,
                       const float* weight, const float* bias, float eps, void* y, float* mean,
                       float* rstd);

// With xhat = (x - mean) * rstd and g = dy * weight:
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat));  dweight += sum_rows dy * xhat;
//   dbias += sum_rows dy (dbias may be null). dx may alias dy.
void layernorm_backward(core::DType dtype, std::int64_t rows, std::int64_t C, const void* x,
                        const float* weight, const float* mean, const float* rstd, const void* dy,
                        void* dx, float* dweight, float* dbias);

}  // namespace sieve::kernels::cpu
