// The vector traits the attention kernels (attention_causal_impl.h, sparse_attention_impl.h)
// are written against, for AVX2 + FMA (8 f32 lanes).
// NOTE [one copy per ISA] (attention_causal_impl.h): include this only inside the namespace of
// the file's own instantiation, so every kernel gets its own copy compiled with its own flags.
// The includer provides the intrinsics header, <algorithm>, <cmath> and <cstdint>.
#pragma once

struct Vec {
  using Reg = __m256;
  static constexpr int kWidth = 8;
  static constexpr int kTileRows = 6;
  static constexpr int kBlockVectors = 2;

  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg set1(float x) { return _mm256_set1_ps(x); }
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Reg x) { _mm256_storeu_ps(p, x); }
  static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static Reg sub(Reg a, Reg b) { return _mm256_sub_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm256_max_ps(a, b); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  // The sum of the lanes.
  static float reduce_add(Reg x) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }

  // 2^x = 2^n * 2^f with n = round(x), f in [-1/2, 1/2]; 2^f by a degree-5 polynomial fitted
  // for relative error (about 2e-7 in f32 arithmetic); 2^n built in the exponent field,
  // which the clamp keeps normal.
  static Reg exp2(Reg x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-126.0f)), _mm256_set1_ps(126.0f));
    const Reg n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const Reg f = _mm256_sub_ps(x, n);
    Reg p = _mm256_set1_ps(1.3276466634e-3f);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.6755409613e-3f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.5507134646e-2f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.4022120237e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.9314694405e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0000001192e+0f));
    const __m256i bits =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
  }

  // The first n lanes of p (the rest read as 0) / written to p; 0 < n <= kWidth.
  static __m256i first_lanes(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static Reg load_first(const float* p, int n) { return _mm256_maskload_ps(p, first_lanes(n)); }
  static void store_first(float* p, Reg x, int n) { _mm256_maskstore_ps(p, first_lanes(n), x); }

  // Lanes < n become fill.
  static Reg fill_below(Reg x, std::int64_t n, Reg fill) {
    if (n <= 0) return x;
    if (n >= kWidth) return fill;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i hide = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lane);
    return _mm256_blendv_ps(x, fill, _mm256_castsi256_ps(hide));
  }
  // Lanes > n become fill.
  static Reg fill_above(Reg x, std::int64_t n, Reg fill) {
    if (n >= kWidth - 1) return x;
    if (n < 0) return fill;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i hide = _mm256_cmpgt_epi32(lane, _mm256_set1_epi32(static_cast<int>(n)));
    return _mm256_blendv_ps(x, fill, _mm256_castsi256_ps(hide));
  }
};
