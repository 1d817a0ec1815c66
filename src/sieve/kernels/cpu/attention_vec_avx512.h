// The vector traits the attention kernels (attention_causal_impl.h, sparse_attention_impl.h)
// are written against, for AVX-512 (16 f32 lanes, 6 x 4 register tiles of 32 zmm).
// NOTE [one copy per ISA] (attention_causal_impl.h): include this only inside the namespace of
// the file's own instantiation, so every kernel gets its own copy compiled with its own flags.
// The includer provides the intrinsics header, <algorithm>, <cmath> and <cstdint>.
#pragma once

struct Vec {
  using Reg = __m512;
  static constexpr int kWidth = 16;
  static constexpr int kTileRows = 6;
  static constexpr int kBlockVectors = 4;

  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg set1(float x) { return _mm512_set1_ps(x); }
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Reg x) { _mm512_storeu_ps(p, x); }
  static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  static Reg sub(Reg a, Reg b) { return _mm512_sub_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm512_max_ps(a, b); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  // The sum of the lanes.
  static float reduce_add(Reg x) { return _mm512_reduce_add_ps(x); }

  // 2^x = 2^n * 2^f with n = round(x), f in [-1/2, 1/2]; 2^f by a degree-5 polynomial fitted
  // for relative error (about 2e-7 in f32 arithmetic), and vscalefps applies 2^n.
  static Reg exp2(Reg x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-126.0f)), _mm512_set1_ps(126.0f));
    const Reg n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const Reg f = _mm512_sub_ps(x, n);
    Reg p = _mm512_set1_ps(1.3276466634e-3f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6755409613e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5507134646e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022120237e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314694405e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0000001192e+0f));
    return _mm512_scalef_ps(p, n);
  }

  // The first n lanes of p (the rest read as 0) / written to p; 0 < n <= kWidth.
  static Reg load_first(const float* p, int n) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p);
  }
  static void store_first(float* p, Reg x, int n) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), x);
  }

  // Lanes < n become fill.
  static Reg fill_below(Reg x, std::int64_t n, Reg fill) {
    if (n <= 0) return x;
    if (n >= kWidth) return fill;
    const auto keep = static_cast<__mmask16>(0xffffu << n);
    return _mm512_mask_mov_ps(fill, keep, x);
  }
  // Lanes > n become fill.
  static Reg fill_above(Reg x, std::int64_t n, Reg fill) {
    if (n >= kWidth - 1) return x;
    if (n < 0) return fill;
    const auto keep = static_cast<__mmask16>((1u << (n + 1)) - 1u);
    return _mm512_mask_mov_ps(fill, keep, x);
  }
};
