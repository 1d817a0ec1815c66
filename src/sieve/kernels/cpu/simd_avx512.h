// AVX-512 flavour of the Simd traits that the row-kernel templates in *_simd.h are written
// against. Include only from *_avx512.cpp (it needs the AVX-512 flags). Everything lives in
// namespace avx512 and scalar math goes through builtins, never inline std:: wrappers, so no
// AVX-512 copy of a shared inline function can be picked by the linker for another path.
#pragma once

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined_*()
// helpers once inlined (GCC bug 105593). The pragma is location-based, so scoping it to the
// header's own lines silences that without hiding warnings in our code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

namespace sieve::kernels::cpu::avx512 {

struct Simd {
  using F = __m512;
  static constexpr std::int64_t kWidth = 16;

  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float v) { return _mm512_set1_ps(v); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  // Lanes [0, n) from p, the others `fill`; n < kWidth. Masked lanes are never read or written,
  // so a row tail cannot fault past the end of a buffer.
  static F load_partial(const float* p, std::int64_t n, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), tail_mask(n), p);
  }
  static void store_partial(float* p, F v, std::int64_t n) { _mm512_mask_storeu_ps(p, tail_mask(n), v); }

  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }   // a * b + c
  static F fnmadd(F a, F b, F c) { return _mm512_fnmadd_ps(a, b, c); }  // c - a * b
  static float reduce_add(F v) { return _mm512_reduce_add_ps(v); }
  static float reduce_max(F v) { return _mm512_reduce_max_ps(v); }

  // e^x to within 1.04 ulp (max relative error 8.7e-8, measured on every 7th float with a normal
  // result); subnormal results down to 0 below ~-103.3, +inf above ~88.72, NaN stays NaN.
  // x = n ln2 + r with |r| <= ln2/2, e^r by a degree-6 polynomial fitted for minimax relative
  // error; vscalefps applies 2^n with correct overflow and underflow.
  static F exp(F x) {
    // min/max return their second operand when either is NaN, so a NaN x passes through.
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), x);
    x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x);
    const F n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(0x1.715476p+0f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    F r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x);  // ln2 high part, n*hi exact
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f), r);  // ln2 low part
    F p = _mm512_set1_ps(0x1.6ab98p-10f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0x1.126d0cp-7f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0x1.55589ap-5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0x1.55540ap-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0x1.fffffap-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
  }
  static float sqrt(float v) { return _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(v))); }
  static float log(float v) { return __builtin_logf(v); }

 private:
  static __mmask16 tail_mask(std::int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }
};

}  // namespace sieve::kernels::cpu::avx512
