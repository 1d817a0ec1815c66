// AVX-512 leaf loops for reduce.cpp: f32 loaded 16 at a time, widened to two vectors of 8
// doubles and accumulated there; several accumulators hide the add latency. Only intrinsics
// and code local to this file live here (see elementwise_avx512.cpp for why).
//
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _mm*_undefined_*()
// helpers once inlined (GCC bug 105593). The pragma is location-based, so scoping it to the
// header's lines silences that without hiding warnings in this file's code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "sieve/kernels/cpu/reduce_loops.h"

namespace sieve::kernels::cpu::avx512 {
namespace {

constexpr std::int64_t kWidth = 16;

__mmask16 tail_mask(std::int64_t remaining) {
  return remaining >= kWidth ? __mmask16(0xffff) : static_cast<__mmask16>((1u << remaining) - 1u);
}

__m512d low_half(__m512 v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
__m512d high_half(__m512 v) {
  return _mm512_cvtps_pd(_mm256_castsi256_ps(_mm512_extracti64x4_epi64(_mm512_castps_si512(v), 1)));
}

// Sums f(x) in double, with f the identity or the square.
template <bool kSquare>
double sum_loop(std::int64_t n, const float* x) {
  __m512d acc[4] = {_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd()};
  auto add = [](__m512d total, __m512d v) { return kSquare ? _mm512_fmadd_pd(v, v, total) : _mm512_add_pd(total, v); };
  std::int64_t i = 0;
  for (; i + 2 * kWidth <= n; i += 2 * kWidth) {
    const __m512 a = _mm512_loadu_ps(x + i);
    const __m512 b = _mm512_loadu_ps(x + i + kWidth);
    acc[0] = add(acc[0], low_half(a));
    acc[1] = add(acc[1], high_half(a));
    acc[2] = add(acc[2], low_half(b));
    acc[3] = add(acc[3], high_half(b));
  }
  for (; i < n; i += kWidth) {
    const __m512 a = _mm512_maskz_loadu_ps(tail_mask(n - i), x + i);  // masked lanes read as 0
    acc[0] = add(acc[0], low_half(a));
    acc[1] = add(acc[1], high_half(a));
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(acc[0], acc[1]), _mm512_add_pd(acc[2], acc[3])));
}

double sum(std::int64_t n, const float* x) { return sum_loop<false>(n, x); }
double sum_squares(std::int64_t n, const float* x) { return sum_loop<true>(n, x); }

void add_rows(std::int64_t rows, std::int64_t cols, const float* x, std::int64_t ld, double* acc) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * ld;
    for (std::int64_t c = 0; c < cols; c += kWidth) {
      const __mmask16 mask = tail_mask(cols - c);
      const __m512 v = _mm512_maskz_loadu_ps(mask, row + c);
      const auto lo_mask = static_cast<__mmask8>(mask & 0xff), hi_mask = static_cast<__mmask8>(mask >> 8);
      _mm512_mask_storeu_pd(acc + c, lo_mask, _mm512_add_pd(_mm512_maskz_loadu_pd(lo_mask, acc + c), low_half(v)));
      _mm512_mask_storeu_pd(acc + c + 8, hi_mask,
                            _mm512_add_pd(_mm512_maskz_loadu_pd(hi_mask, acc + c + 8), high_half(v)));
    }
  }
}

float max(std::int64_t n, const float* x) {
  __m512 best = _mm512_set1_ps(-__builtin_inff());
  __mmask16 nan = 0;
  for (std::int64_t i = 0; i < n; i += kWidth) {
    const __mmask16 mask = tail_mask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(mask, x + i);
    nan |= _mm512_mask_cmp_ps_mask(mask, v, v, _CMP_UNORD_Q);
    best = _mm512_mask_max_ps(best, mask, best, v);
  }
  return nan ? __builtin_nanf("") : _mm512_reduce_max_ps(best);
}

}  // namespace

const ReduceLoops& reduce_loops() {
  static constexpr ReduceLoops kLoops{sum, sum_squares, add_rows, max};
  return kLoops;
}

}  // namespace sieve::kernels::cpu::avx512
