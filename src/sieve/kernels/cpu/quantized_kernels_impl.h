// The bodies of the quantized kernels (quantized_kernels.h), written once against a traits
// struct V and compiled per instruction set: include this inside an ISA namespace only
// (quantized_kernels.cpp, *_avx2.cpp, *_avx512.cpp), after <cstdint> and <cstring>, so the
// linker can never merge an AVX copy into the baseline path. Scalar math goes through
// builtins, never std:: inline functions, for the same reason.
//
// V provides:
//   F, kWidth, zero, set1, load, store, add, mul, fmadd, reduce_add    (f32 vectors)
//   nibbles(p, lo, hi): kWidth packed bytes → their low nibbles (even k) and high nibbles (odd k)
//     as f32 in [0, 15]
//   expand_ordered(p, first, second): the 2·kWidth weights nibble − 8 of kWidth bytes in k order
//   abs, max, reduce_max, div, round_clamp (round half away from zero, clamp to ±127),
//   store_q (kWidth int8 from a rounded, clamped vector)
//   I8 (int32 accumulator), kInt8Bytes, i8_zero, i8_dot(acc, x, w) (acc += Σ x·w over
//   kInt8Bytes int8 pairs, exact), i8_reduce

// ---- quantize_rows_int8 ------------------------------------------------------------------------

// A NaN (activations of a model that overflowed) gives −127, as the SIMD clamps' max(r, −127)
// does: any value, so long as the cast to int8 that follows stays defined.
inline float round_clamp_127(float v) {
  const float r = __builtin_roundf(v);  // half away from zero
  return r > 127.0f ? 127.0f : r >= -127.0f ? r : -127.0f;
}

template <class V>
void quantize_rows_int8_body(std::int64_t begin, std::int64_t end, std::int64_t cols, const float* x,
                             std::int8_t* q, std::int64_t q_stride, float* scales, float static_scale) {
  constexpr std::int64_t W = V::kWidth;
  const std::int64_t body = cols - cols % W;
  for (std::int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * cols;
    std::int8_t* qr = q + r * q_stride;
    float scale = static_scale;
    if (scale == 0.0f) {
      typename V::F peak = V::zero();
      for (std::int64_t c = 0; c < body; c += W) peak = V::max(peak, V::abs(V::load(xr + c)));
      float amax = V::reduce_max(peak);
      for (std::int64_t c = body; c < cols; ++c) {
        const float a = __builtin_fabsf(xr[c]);
        amax = a > amax ? a : amax;
      }
      scale = amax > 0.0f ? amax / 127.0f : 1.0f;
    }
    scales[r] = scale;
    const typename V::F s = V::set1(scale);
    for (std::int64_t c = 0; c < body; c += W) V::store_q(qr + c, V::round_clamp(V::div(V::load(xr + c), s)));
    for (std::int64_t c = body; c < cols; ++c) qr[c] = static_cast<std::int8_t>(round_clamp_127(xr[c] / scale));
  }
}

// ---- int8 GEMV ---------------------------------------------------------------------------------

// Columns m .. m + R − 1 for all N rows of x: R·N exact int32 dot products over Kp.
template <class V, int N, int R>
void int8_gemv_block(const Int8GemvArgs& a, std::int64_t m) {
  typename V::I8 acc[R][N];
  for (int r = 0; r < R; ++r)
    for (int n = 0; n < N; ++n) acc[r][n] = V::i8_zero();
  const std::int8_t* w = a.qw + m * a.Kp;
  for (std::int64_t k = 0; k < a.Kp; k += V::kInt8Bytes)
    for (int r = 0; r < R; ++r)
      for (int n = 0; n < N; ++n) acc[r][n] = V::i8_dot(acc[r][n], a.qx + n * a.Kp + k, w + r * a.Kp + k);
  for (int r = 0; r < R; ++r) {
    const float bias = a.bias != nullptr ? a.bias[m + r] : 0.0f;
    for (int n = 0; n < N; ++n)
      a.y[n * a.M + m + r] = static_cast<float>(V::i8_reduce(acc[r][n])) * (a.xscale[n] * a.wscale[m + r]) + bias;
  }
}

// Several columns at once for N = 1, 2 give the core independent accumulators to overlap.
template <class V, int N, int R>
void int8_gemv_columns(const Int8GemvArgs& a, std::int64_t begin, std::int64_t end) {
  std::int64_t m = begin;
  for (; m + R <= end; m += R) int8_gemv_block<V, N, R>(a, m);
  for (; m < end; ++m) int8_gemv_block<V, N, 1>(a, m);
}

template <class V>
void int8_gemv_body(const Int8GemvArgs& a, std::int64_t begin, std::int64_t end) {
  switch (a.N) {
    case 1: return int8_gemv_columns<V, 1, 4>(a, begin, end);
    case 2: return int8_gemv_columns<V, 2, 2>(a, begin, end);
    case 3: return int8_gemv_columns<V, 3, 1>(a, begin, end);
    default: return int8_gemv_columns<V, 4, 1>(a, begin, end);
  }
}

inline void int8_to_f32_body(std::int64_t count, const std::int8_t* q, float* out) {
  for (std::int64_t i = 0; i < count; ++i) out[i] = static_cast<float>(q[i]);
}

// ---- int4 GEMV ---------------------------------------------------------------------------------

// Columns m .. m + R − 1 for all N rows of x. Each group's Σ nibble·x is accumulated unscaled (low
// and high nibbles apart, to shorten the FMA chains) and scaled once into the running total;
// the −8 offset comes off as 8 · scale · Σx a group, which spares a subtraction per weight (the
// nibble-to-f32 conversion bounds this loop).
template <class V, int N, int R>
void int4_gemv_block(const Int4GemvArgs& a, std::int64_t m) {
  using F = typename V::F;
  constexpr std::int64_t B = V::kWidth;  // packed bytes per step
  const std::int64_t row_bytes = (a.K + 1) / 2;
  const std::int64_t groups = (a.K + a.G - 1) / a.G;
  const std::int64_t group_bytes = a.G / 2;
  F total[R][N];
  float offset[R][N];
  for (int r = 0; r < R; ++r)
    for (int n = 0; n < N; ++n) total[r][n] = V::zero(), offset[r][n] = 0.0f;
  for (std::int64_t g = 0; g < groups; ++g) {
    const std::int64_t b0 = g * group_bytes;
    const std::int64_t bytes = row_bytes - b0 < group_bytes ? row_bytes - b0 : group_bytes;
    // A short last group is copied out and padded to whole steps, so no step reads past the
    // row; x is zero there.
    const std::uint8_t* rows[R];
    std::uint8_t tail[R][kInt4MaxGroup / 2];
    std::int64_t span = group_bytes;
    for (int r = 0; r < R; ++r) rows[r] = a.packed + (m + r) * row_bytes + b0;
    if (bytes < group_bytes) {
      span = (bytes + B - 1) / B * B;
      for (int r = 0; r < R; ++r) {
        std::memset(tail[r], 0x88, static_cast<std::size_t>(span));
        std::memcpy(tail[r], rows[r], static_cast<std::size_t>(bytes));
        rows[r] = tail[r];
      }
    }
    F lo_acc[R][N], hi_acc[R][N];
    for (int r = 0; r < R; ++r)
      for (int n = 0; n < N; ++n) lo_acc[r][n] = hi_acc[r][n] = V::zero();
    for (std::int64_t b = 0; b < span; b += B) {
      for (int r = 0; r < R; ++r) {
        F lo, hi;
        V::nibbles(rows[r] + b, lo, hi);
        for (int n = 0; n < N; ++n) {
          lo_acc[r][n] = V::fmadd(lo, V::load(a.xe + n * a.x_stride + b0 + b), lo_acc[r][n]);
          hi_acc[r][n] = V::fmadd(hi, V::load(a.xo + n * a.x_stride + b0 + b), hi_acc[r][n]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      const float scale = a.scales[(m + r) * groups + g];
      for (int n = 0; n < N; ++n) {
        total[r][n] = V::fmadd(V::add(lo_acc[r][n], hi_acc[r][n]), V::set1(scale), total[r][n]);
        offset[r][n] += scale * a.xsum[n * groups + g];
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    const float bias = a.bias != nullptr ? a.bias[m + r] : 0.0f;
    for (int n = 0; n < N; ++n) a.y[n * a.M + m + r] = (V::reduce_add(total[r][n]) - 8.0f * offset[r][n]) + bias;
  }
}

template <class V, int N, int R>
void int4_gemv_columns(const Int4GemvArgs& a, std::int64_t begin, std::int64_t end) {
  std::int64_t m = begin;
  for (; m + R <= end; m += R) int4_gemv_block<V, N, R>(a, m);
  for (; m < end; ++m) int4_gemv_block<V, N, 1>(a, m);
}

template <class V>
void int4_gemv_body(const Int4GemvArgs& a, std::int64_t begin, std::int64_t end) {
  switch (a.N) {
    case 1: return int4_gemv_columns<V, 1, 4>(a, begin, end);
    case 2: return int4_gemv_columns<V, 2, 2>(a, begin, end);
    case 3: return int4_gemv_columns<V, 3, 1>(a, begin, end);
    default: return int4_gemv_columns<V, 4, 1>(a, begin, end);
  }
}

// ---- int4 dequantization (panels for the f32 GEMM) --------------------------------------------

template <class V>
void int4_dequantize_body(std::int64_t m_begin, std::int64_t rows, std::int64_t K, std::int64_t G,
                          const std::uint8_t* packed, const float* scales, float* out) {
  using F = typename V::F;
  constexpr std::int64_t B = V::kWidth;
  const std::int64_t row_bytes = (K + 1) / 2;
  const std::int64_t groups = (K + G - 1) / G;
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::int64_t m = m_begin + i;
    const std::uint8_t* row = packed + m * row_bytes;
    float* dst = out + i * K;
    for (std::int64_t g = 0; g < groups; ++g) {
      const F scale = V::set1(scales[m * groups + g]);
      const std::int64_t k0 = g * G;
      const std::int64_t count = K - k0 < G ? K - k0 : G;
      if (count == G) {
        for (std::int64_t b = 0; b < G / 2; b += B) {
          F first, second;
          V::expand_ordered(row + k0 / 2 + b, first, second);
          V::store(dst + k0 + 2 * b, V::mul(first, scale));
          V::store(dst + k0 + 2 * b + B, V::mul(second, scale));
        }
      } else {
        // The short last group goes through padded copies, so nothing past the row is read or
        // written.
        std::uint8_t bytes[kInt4MaxGroup / 2];
        float values[kInt4MaxGroup];
        const std::int64_t used = (count + 1) / 2;
        const std::int64_t span = (used + B - 1) / B * B;
        std::memset(bytes, 0x88, static_cast<std::size_t>(span));
        std::memcpy(bytes, row + k0 / 2, static_cast<std::size_t>(used));
        for (std::int64_t b = 0; b < span; b += B) {
          F first, second;
          V::expand_ordered(bytes + b, first, second);
          V::store(values + 2 * b, V::mul(first, scale));
          V::store(values + 2 * b + B, V::mul(second, scale));
        }
        std::memcpy(dst + k0, values, static_cast<std::size_t>(count) * sizeof(float));
      }
    }
  }
}

template <class V>
QuantizedKernels make_quantized_kernels() {
  return QuantizedKernels{&quantize_rows_int8_body<V>, &int8_gemv_body<V>, &int8_to_f32_body,
                          &int4_gemv_body<V>, &int4_dequantize_body<V>};
}
