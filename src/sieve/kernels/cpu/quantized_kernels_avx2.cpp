// The quantized kernels (quantized_kernels_impl.h) compiled for AVX2 + FMA. Nibbles are
// widened 8 bytes at a time (vpmovzxbd) and converted to f32 in registers; int8 dot products
// use |x| · sign(w, x) so vpmaddubsw's pairwise sums stay below 2·127·127 and never saturate.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "sieve/kernels/cpu/quantized_kernels.h"
#include "sieve/kernels/cpu/quantized_linear.h"
#include "sieve/kernels/cpu/simd_avx2.h"

namespace sieve::kernels::cpu::avx2 {
namespace {

#include "sieve/kernels/cpu/quantized_kernels_impl.h"

struct Traits : Simd {
  static F abs(F v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }
  // Truncate, then step away from zero when the dropped fraction is at least one half (exact:
  // v − trunc(v) is representable).
  static F round_clamp(F v) {
    const F t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const F half_or_more = _mm256_cmp_ps(abs(_mm256_sub_ps(v, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const F step = _mm256_or_ps(_mm256_and_ps(v, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(1.0f));
    const F r = _mm256_add_ps(t, _mm256_and_ps(half_or_more, step));
    return _mm256_min_ps(_mm256_max_ps(r, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f));
  }
  static void store_q(std::int8_t* p, F v) {
    const __m256i i = _mm256_cvtps_epi32(v);
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packs_epi16(w, w));
  }

  static void nibbles(const std::uint8_t* p, F& lo, F& hi) {
    const __m256i bytes = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    lo = _mm256_cvtepi32_ps(_mm256_and_si256(bytes, _mm256_set1_epi32(15)));
    hi = _mm256_cvtepi32_ps(_mm256_srli_epi32(bytes, 4));
  }
  static void expand_ordered(const std::uint8_t* p, F& first, F& second) {
    F lo, hi;
    nibbles(p, lo, hi);
    lo = sub(lo, set1(8.0f));
    hi = sub(hi, set1(8.0f));
    const F a = _mm256_unpacklo_ps(lo, hi);  // k 0 1 2 3 | 8 9 10 11
    const F b = _mm256_unpackhi_ps(lo, hi);  // k 4 5 6 7 | 12 13 14 15
    first = _mm256_permute2f128_ps(a, b, 0x20);
    second = _mm256_permute2f128_ps(a, b, 0x31);
  }

  using I8 = __m256i;
  static constexpr std::int64_t kInt8Bytes = 32;
  static I8 i8_zero() { return _mm256_setzero_si256(); }
  static I8 i8_dot(I8 acc, const std::int8_t* x, const std::int8_t* w) {
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
    const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(xv), _mm256_sign_epi8(wv, xv));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
  }
  static std::int32_t i8_reduce(I8 v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
  }
};

}  // namespace

const QuantizedKernels& quantized_kernels() {
  static const QuantizedKernels kernels = make_quantized_kernels<Traits>();
  return kernels;
}

}  // namespace sieve::kernels::cpu::avx2
