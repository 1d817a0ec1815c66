// The body of kernels::cpu::lsh_bucket (sparse_decode_index.h), compiled once per instruction
// set (lsh_bucket.cpp, lsh_bucket_avx512.cpp). Include it inside an ISA-specific namespace only:
// the linker must never merge the AVX-512 copy into the portable path.
//
// Every projection sums d = 0 .. D−1 in order, so a vector's bucket does not depend on how
// callers batch tokens: the plan builder and decoding (which both call lsh_bucket) agree bit for
// bit within a process.
#pragma once

#include <algorithm>
#include <cstdint>

inline std::int32_t lsh_bucket_body(const float* x, const float* rotation, std::int64_t head_dim,
                                    std::int64_t buckets, float* scratch) {
  const std::int64_t half = buckets / 2;
  // scratch [NBk/2] = x [D] · rotation [D, NBk/2], 16 columns at a time in a local accumulator
  // the compiler keeps in one vector register.
  constexpr std::int64_t kColumns = 16;
  for (std::int64_t n0 = 0; n0 < half; n0 += kColumns) {
    float acc[kColumns] = {};
    const std::int64_t width = std::min(kColumns, half - n0);
    if (width == kColumns) {
      for (std::int64_t d = 0; d < head_dim; ++d) {
        const float xd = x[d];
        const float* row = rotation + d * half + n0;
        for (std::int64_t j = 0; j < kColumns; ++j) acc[j] += xd * row[j];
      }
    } else {
      for (std::int64_t d = 0; d < head_dim; ++d) {
        const float xd = x[d];
        const float* row = rotation + d * half + n0;
        for (std::int64_t j = 0; j < width; ++j) acc[j] += xd * row[j];
      }
    }
    std::copy(acc, acc + width, scratch + n0);
  }
  // argmax over [xR, −xR]; strict > keeps the lower index on ties.
  std::int64_t best_index = 0;
  float best = scratch[0];
  for (std::int64_t n = 1; n < half; ++n)
    if (scratch[n] > best) best = scratch[n], best_index = n;
  for (std::int64_t n = 0; n < half; ++n)
    if (-scratch[n] > best) best = -scratch[n], best_index = half + n;
  return static_cast<std::int32_t>(best_index);
}
