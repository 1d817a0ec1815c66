// AVX2 + FMA flavour of the Simd traits that the row-kernel templates in *_simd.h are written
// against. Include only from *_avx2.cpp (it needs -mavx2 -mfma). Everything lives in namespace
// avx2 and scalar math goes through builtins, never inline std:: wrappers, so no AVX copy of a
// shared inline function can be picked by the linker for the baseline path.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace sieve::kernels::cpu::avx2 {

struct Simd {
  using F = __m256;
  static constexpr std::int64_t kWidth = 8;

  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  // Lanes [0, n) from p, the others `fill`; n < kWidth. Masked lanes are never read or written,
  // so a row tail cannot fault past the end of a buffer.
  static F load_partial(const float* p, std::int64_t n, float fill) {
    const __m256i mask = tail_mask(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, mask), _mm256_castsi256_ps(mask));
  }
  static void store_partial(float* p, F v, std::int64_t n) { _mm256_maskstore_ps(p, tail_mask(n), v); }

  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }   // a * b + c
  static F fnmadd(F a, F b, F c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a * b

  static float reduce_add(F v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float reduce_max(F v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }

  // e^x to within 1.04 ulp (max relative error 8.7e-8, measured on every 7th float with a normal
  // result); subnormal results down to 0 below ~-103.3, +inf above ~88.72, NaN stays NaN.
  // x = n ln2 + r with |r| <= ln2/2, e^r by a degree-6 polynomial fitted for minimax relative
  // error, then the 2^n scale applied as two factors 2^(n/2) so that every intermediate
  // exponent stays normal (n spans [-150, 128]).
  static F exp(F x) {
    // min/max return their second operand when either is NaN, so a NaN x passes through.
    x = _mm256_min_ps(_mm256_set1_ps(89.0f), x);
    x = _mm256_max_ps(_mm256_set1_ps(-104.0f), x);
    const F n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(0x1.715476p+0f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    F r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x);  // ln2 high part, n*hi exact
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f), r);  // ln2 low part
    F p = _mm256_set1_ps(0x1.6ab98p-10f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0x1.126d0cp-7f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0x1.55589ap-5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0x1.55540ap-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0x1.fffffap-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i half = _mm256_srai_epi32(ni, 1);
    const __m256i rest = _mm256_sub_epi32(ni, half);
    return _mm256_mul_ps(_mm256_mul_ps(p, pow2(half)), pow2(rest));
  }
  static float sqrt(float v) { return _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(v))); }
  static float log(float v) { return __builtin_logf(v); }

 private:
  static __m256i tail_mask(std::int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  // 2^e for integer e in [-126, 127], built directly in the exponent field.
  static F pow2(__m256i e) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23));
  }
};

}  // namespace sieve::kernels::cpu::avx2
