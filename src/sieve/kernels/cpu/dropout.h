// Inverted dropout, forward and backward.
//
// Shapes: n elements; x, y, dy, dx are [n] of `dtype`, mask is [n] uint8 (1 = kept, 0 = dropped).
// Element i is kept iff u_i >= p, where u_i in [0, 1) (24-bit) comes from a counter-based RNG
// (Philox4x32-10 keyed by the seed, counter = i / 4, word i % 4): the mask depends only on
// (seed, i), never on the thread count or the call order. Kept elements are scaled by 1/(1 - p)
// so the expectation is unchanged; p = 1 drops everything, p = 0 is the identity.
// Only f32 is implemented; other dtypes throw core::Error naming the dtype.
#pragma once

#include <cstdint>

#include "sieve/core/dtype.h"

namespace sieve::kernels::cpu {

// y = mask ? x / (1 - p) : 0, with p in [0, 1]. y may alias x.
void dropout_forward(core::DType dtype, std::int64_t n, float p, std::uint64_t seed, const void* x, void* y,
                     std::uint8_t* mask);

// dx = mask ? dy / (1 - p) : 0, with the forward's p and mask. dx may alias dy.
void dropout_backward(core::DType dtype, std::int64_t n, float p, const std::uint8_t* mask, const void* dy,
                      void* dx);

}  // namespace sieve::kernels::cpu
