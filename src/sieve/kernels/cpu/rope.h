// Rotary position embedding (RoPE), forward and backward, in the HF LLaMA "rotate_half" layout.
//
// Shapes: x, y, dy, dx are [B, T, H, D] of `dtype`, contiguous row-major; D (head dim) even.
// Token t of every sequence sits at position p = position_offset + t. For i < D/2 the pair
// (x[i], x[i + D/2]) is rotated by the angle a = p * theta^(-2i/D):
//   y[i]       = x[i] * cos(a) - x[i + D/2] * sin(a)
//   y[i + D/2] = x[i + D/2] * cos(a) + x[i] * sin(a)
// cos/sin come from a table cached per (D, theta) and grown to the largest position a long call
// has seen (thread-safe); angles are computed in double and rounded once, so large positions stay
// accurate. Only f32 is implemented; other dtypes throw core::Error naming the dtype.
#pragma once

#include <cstdint>

#include "sieve/core/dtype.h"

namespace sieve::kernels::cpu {

// y may alias x.
void rope_forward(core::DType dtype, std::int64_t B, std::int64_t T, std::int64_t H, std::int64_t D,
                  std::int64_t position_offset, float theta, const void* x, void* y);

// The inverse (transposed) rotation, by -a: dx = R(a)^T dy. dx may alias dy.
void rope_backward(core::DType dtype, std::int64_t B, std::int64_t T, std::int64_t H, std::int64_t D,
                   std::int64_t position_offset, float theta, const void* dy, void* dx);

// Positions [0, n) the shared cos/sin table of (D, theta) holds (0: none yet). Calls of more than
// 64 positions grow it to cover themselves; shorter ones (decode steps) past its end compute
// their own rows instead, with the same values. For tests and diagnostics.
std::int64_t rope_cached_positions(std::int64_t D, float theta);

}  // namespace sieve::kernels::cpu
