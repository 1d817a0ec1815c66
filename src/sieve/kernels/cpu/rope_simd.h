// RoPE row kernel, written once against a Simd traits type and instantiated per ISA: rope.cpp
// (scalar), rope_avx2.cpp, rope_avx512.cpp. rope.cpp owns the cos/sin tables, picks a kernel at
// run time and splits the B*T token rows across threads. Shapes as in rope.h.
#pragma once

#include <cstdint>

#include "sieve/kernels/cpu/simd_loops.h"

namespace sieve::kernels::cpu {

// Rotates token rows bt in [begin, end) of x [B*T, H, D] into y. cos_t0/sin_t0 point at the
// table row of token t = 0, [T, D/2]. sin_sign = +1 rotates by a (forward), -1 by -a (backward).
using RopeRowsF32 = void (*)(std::int64_t begin, std::int64_t end, std::int64_t T, std::int64_t H, std::int64_t D,
                             const float* cos_t0, const float* sin_t0, float sin_sign, const float* x, float* y);

namespace avx512 {
RopeRowsF32 rope_rows_kernel();
}
namespace avx2 {
RopeRowsF32 rope_rows_kernel();
}

template <class S>
void rope_rows(std::int64_t begin, std::int64_t end, std::int64_t T, std::int64_t H, std::int64_t D,
               const float* cos_t0, const float* sin_t0, float sin_sign, const float* x, float* y) {
  using F = typename S::F;
  const std::int64_t half = D / 2;
  const F sign_v = S::set1(sin_sign);
  for (std::int64_t bt = begin; bt < end; ++bt) {
    const std::int64_t t = bt % T;
    const float* cos_row = cos_t0 + t * half;  // [D/2]
    const float* sin_row = sin_t0 + t * half;  // [D/2]
    for (std::int64_t h = 0; h < H; ++h) {
      const float* xr = x + (bt * H + h) * D;  // [D]
      float* yr = y + (bt * H + h) * D;        // [D]
      for_each_vector<S>(half, [&](std::int64_t i, std::int64_t len) {
        const F c = load_n<S>(cos_row + i, len);
        const F s = S::mul(load_n<S>(sin_row + i, len), sign_v);
        const F x1 = load_n<S>(xr + i, len);         // first half
        const F x2 = load_n<S>(xr + half + i, len);  // second half
        store_n<S>(yr + i, S::fnmadd(x2, s, S::mul(x1, c)), len);
        store_n<S>(yr + half + i, S::fmadd(x1, s, S::mul(x2, c)), len);
      });
    }
  }
}

}  // namespace sieve::kernels::cpu
