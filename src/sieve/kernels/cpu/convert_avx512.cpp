// AVX-512 loops for the conversions that are on hot paths (mixed precision casts, int8
// quantisation). Compiled with AVX-512 flags; only reached when cpu_features() has AVX-512.
// Each loop handles its tail with masked loads/stores, and must give the same bits as the
// portable loop in convert.cpp.
//
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _mm*_undefined_*()
// helpers once inlined (GCC bug 105593). The pragma is location-based, so scoping it to the
// header's lines silences that without hiding warnings in this file's code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

#include "sieve/core/dtype.h"

namespace sieve::kernels::cpu {

using ConvertFn = void (*)(std::int64_t n, const void* src, void* dst);

namespace avx512 {
namespace {

using core::DType;

constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

__mmask16 tail_mask(std::int64_t remaining) {
  return remaining >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << remaining) - 1u);
}

// Round to nearest even on the integer bits, like core::f32_to_bf16_bits. (The AVX512-BF16
// instruction is not used: it flushes subnormal inputs to zero.)
__m256i f32_to_bf16_16(__m512 x) {
  const __m512i bits = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
  // NaN: keep the payload's top bits and set the quiet bit, so it cannot round to inf.
  const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  const __m512i quiet = _mm512_or_si512(bits, _mm512_set1_epi32(0x00400000));
  return _mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_mask_mov_epi32(rounded, nan, quiet), 16));
}

__m512 bf16_to_f32_16(__m256i bits) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
}

void f32_to_bf16(std::int64_t n, const void* src, void* dst) {
  const float* in = static_cast<const float*>(src);
  auto* out = static_cast<std::uint16_t*>(dst);
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    _mm256_mask_storeu_epi16(out + i, mask, f32_to_bf16_16(_mm512_maskz_loadu_ps(mask, in + i)));
  }
}

void bf16_to_f32(std::int64_t n, const void* src, void* dst) {
  const auto* in = static_cast<const std::uint16_t*>(src);
  float* out = static_cast<float*>(dst);
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    _mm512_mask_storeu_ps(out + i, mask, bf16_to_f32_16(_mm256_maskz_loadu_epi16(mask, in + i)));
  }
}

void f32_to_f16(std::int64_t n, const void* src, void* dst) {
  const float* in = static_cast<const float*>(src);
  auto* out = static_cast<std::uint16_t*>(dst);
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    _mm256_mask_storeu_epi16(out + i, mask, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(mask, in + i), kRound));
  }
}

void f16_to_f32(std::int64_t n, const void* src, void* dst) {
  const auto* in = static_cast<const std::uint16_t*>(src);
  float* out = static_cast<float*>(dst);
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    _mm512_mask_storeu_ps(out + i, mask, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, in + i)));
  }
}

void bf16_to_f16(std::int64_t n, const void* src, void* dst) {
  const auto* in = static_cast<const std::uint16_t*>(src);
  auto* out = static_cast<std::uint16_t*>(dst);
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    const __m512 x = bf16_to_f32_16(_mm256_maskz_loadu_epi16(mask, in + i));
    _mm256_mask_storeu_epi16(out + i, mask, _mm512_cvtps_ph(x, kRound));
  }
}

void f16_to_bf16(std::int64_t n, const void* src, void* dst) {
  const auto* in = static_cast<const std::uint16_t*>(src);
  auto* out = static_cast<std::uint16_t*>(dst);
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    const __m512 x = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, in + i));
    _mm256_mask_storeu_epi16(out + i, mask, f32_to_bf16_16(x));
  }
}

// NaN lanes become 0, then the value is clamped to [lo, hi] before rounding. Clamping first
// is the same as saturating after rounding because lo and hi are integers.
__m512i round_clamped(__m512 x, float lo, float hi) {
  const __mmask16 is_number = _mm512_cmp_ps_mask(x, x, _CMP_ORD_Q);
  x = _mm512_maskz_mov_ps(is_number, x);
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(lo)), _mm512_set1_ps(hi));
  return _mm512_cvt_roundps_epi32(x, kRound);
}

void f32_to_i8(std::int64_t n, const void* src, void* dst) {
  const float* in = static_cast<const float*>(src);
  auto* out = static_cast<std::int8_t*>(dst);
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    const __m512i v = round_clamped(_mm512_maskz_loadu_ps(mask, in + i), -128.0f, 127.0f);
    _mm_mask_storeu_epi8(out + i, mask, _mm512_cvtsepi32_epi8(v));
  }
}

void f32_to_u8(std::int64_t n, const void* src, void* dst) {
  const float* in = static_cast<const float*>(src);
  auto* out = static_cast<std::uint8_t*>(dst);
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    const __m512i v = round_clamped(_mm512_maskz_loadu_ps(mask, in + i), 0.0f, 255.0f);
    _mm_mask_storeu_epi8(out + i, mask, _mm512_cvtusepi32_epi8(v));
  }
}

void f32_to_i32(std::int64_t n, const void* src, void* dst) {
  const float* in = static_cast<const float*>(src);
  auto* out = static_cast<std::int32_t*>(dst);
  const __m512 two_pow_31 = _mm512_set1_ps(2147483648.0f);
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    __m512 x = _mm512_maskz_loadu_ps(mask, in + i);
    const __mmask16 is_number = _mm512_cmp_ps_mask(x, x, _CMP_ORD_Q);
    const __mmask16 too_big = _mm512_cmp_ps_mask(x, two_pow_31, _CMP_GE_OQ);
    x = _mm512_maskz_mov_ps(is_number, x);
    // Out of range converts to INT32_MIN: right for large negatives, patched for positives.
    __m512i v = _mm512_cvt_roundps_epi32(x, kRound);
    v = _mm512_mask_mov_epi32(v, too_big, _mm512_set1_epi32(0x7fffffff));
    _mm512_mask_storeu_epi32(out + i, mask, v);
  }
}

void i8_to_f32(std::int64_t n, const void* src, void* dst) {
  const auto* in = static_cast<const std::int8_t*>(src);
  float* out = static_cast<float*>(dst);
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    const __m512i v = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, in + i));
    _mm512_mask_storeu_ps(out + i, mask, _mm512_cvtepi32_ps(v));
  }
}

void u8_to_f32(std::int64_t n, const void* src, void* dst) {
  const auto* in = static_cast<const std::uint8_t*>(src);
  float* out = static_cast<float*>(dst);
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    const __m512i v = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, in + i));
    _mm512_mask_storeu_ps(out + i, mask, _mm512_cvtepi32_ps(v));
  }
}

void i32_to_f32(std::int64_t n, const void* src, void* dst) {
  const auto* in = static_cast<const std::int32_t*>(src);
  float* out = static_cast<float*>(dst);
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    const __m512i v = _mm512_maskz_loadu_epi32(mask, in + i);
    _mm512_mask_storeu_ps(out + i, mask, _mm512_cvt_roundepi32_ps(v, kRound));
  }
}

}  // namespace

ConvertFn convert_kernel(DType from, DType to) {
  struct Entry {
    DType from, to;
    ConvertFn fn;
  };
  static constexpr Entry kTable[] = {
      {DType::f32, DType::bf16, f32_to_bf16}, {DType::bf16, DType::f32, bf16_to_f32},
      {DType::f32, DType::f16, f32_to_f16},   {DType::f16, DType::f32, f16_to_f32},
      {DType::bf16, DType::f16, bf16_to_f16}, {DType::f16, DType::bf16, f16_to_bf16},
      {DType::f32, DType::i8, f32_to_i8},     {DType::f32, DType::u8, f32_to_u8},
      {DType::f32, DType::i32, f32_to_i32},   {DType::i8, DType::f32, i8_to_f32},
      {DType::u8, DType::f32, u8_to_f32},     {DType::i32, DType::f32, i32_to_f32},
  };
  for (const Entry& entry : kTable)
    if (entry.from == from && entry.to == to) return entry.fn;
  return nullptr;
}

}  // namespace avx512
}  // namespace sieve::kernels::cpu
