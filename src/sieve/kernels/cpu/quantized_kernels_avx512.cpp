// The quantized kernels (quantized_kernels_impl.h) compiled for AVX-512 (F, BW, VL, DQ): 16
// packed bytes widen to 32 weights a step; int8 dot products use |x| · (w with the sign of x)
// so vpmaddubsw's pairwise sums never saturate.
//
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _mm*_undefined_*()
// helpers once inlined (GCC bug 105593); the pragma is scoped to the header's lines.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>
#include <cstring>

#include "sieve/kernels/cpu/quantized_kernels.h"
#include "sieve/kernels/cpu/quantized_linear.h"
#include "sieve/kernels/cpu/simd_avx512.h"

namespace sieve::kernels::cpu::avx512 {
namespace {

#include "sieve/kernels/cpu/quantized_kernels_impl.h"

struct Traits : Simd {
  static F abs(F v) { return _mm512_abs_ps(v); }
  // Truncate, then step away from zero when the dropped fraction is at least one half.
  static F round_clamp(F v) {
    const F t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 half_or_more = _mm512_cmp_ps_mask(abs(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const F step = _mm512_or_ps(_mm512_and_ps(v, _mm512_set1_ps(-0.0f)), _mm512_set1_ps(1.0f));
    const F r = _mm512_mask_add_ps(t, half_or_more, t, step);
    return _mm512_min_ps(_mm512_max_ps(r, _mm512_set1_ps(-127.0f)), _mm512_set1_ps(127.0f));
  }
  static void store_q(std::int8_t* p, F v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(v)));
  }

  static void nibbles(const std::uint8_t* p, F& lo, F& hi) {
    const __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    lo = _mm512_cvtepi32_ps(_mm512_and_si512(bytes, _mm512_set1_epi32(15)));
    hi = _mm512_cvtepi32_ps(_mm512_srli_epi32(bytes, 4));
  }
  static void expand_ordered(const std::uint8_t* p, F& first, F& second) {
    F lo, hi;
    nibbles(p, lo, hi);
    lo = sub(lo, set1(8.0f));
    hi = sub(hi, set1(8.0f));
    const __m512i first_index = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i second_index = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    first = _mm512_permutex2var_ps(lo, first_index, hi);
    second = _mm512_permutex2var_ps(lo, second_index, hi);
  }

  using I8 = __m512i;
  static constexpr std::int64_t kInt8Bytes = 64;
  static I8 i8_zero() { return _mm512_setzero_si512(); }
  static I8 i8_dot(I8 acc, const std::int8_t* x, const std::int8_t* w) {
    const __m512i xv = _mm512_loadu_si512(x);
    const __m512i wv = _mm512_loadu_si512(w);
    // w negated where x < 0; where x == 0, |x| == 0 makes the product 0 anyway.
    const __m512i signed_w = _mm512_mask_sub_epi8(wv, _mm512_movepi8_mask(xv), _mm512_setzero_si512(), wv);
    const __m512i pairs = _mm512_maddubs_epi16(_mm512_abs_epi8(xv), signed_w);
    return _mm512_add_epi32(acc, _mm512_madd_epi16(pairs, _mm512_set1_epi16(1)));
  }
  static std::int32_t i8_reduce(I8 v) { return _mm512_reduce_add_epi32(v); }
};

}  // namespace

const QuantizedKernels& quantized_kernels() {
  static const QuantizedKernels kernels = make_quantized_kernels<Traits>();
  return kernels;
}

}  // namespace sieve::kernels::cpu::avx512
