// Element types Sieve stores and converts between, and scalar bf16/f16 conversion.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace sieve::core {

enum class DType : std::uint8_t { f32, bf16, f16, i8, u8, i32, i64 };

std::size_t dtype_size(DType dtype);
// "f32", "bf16", ... (Sieve's names).
std::string_view dtype_name(DType dtype);
// Accepts Sieve's names and safetensors' ("F32", "BF16", "F16", "I8", "U8", "I32", "I64").
std::optional<DType> dtype_from_name(std::string_view name);
// safetensors' spelling: "F32", "BF16", ...
std::string_view dtype_safetensors_name(DType dtype);
bool dtype_is_floating(DType dtype);

// bf16 is the top half of an f32; rounding to nearest even, NaN kept quiet.
inline std::uint16_t f32_to_bf16_bits(float value) {
  std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(bits >> 16);
}
inline float bf16_bits_to_f32(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

// IEEE binary16, round to nearest even, overflow to inf, subnormals kept; plain integer code
// (clang before 15 has no _Float16 on x86).
inline std::uint16_t f32_to_f16_bits(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u)  // NaN: keep the top payload bits, force quiet
    return static_cast<std::uint16_t>(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
  if (magnitude >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to inf
  if (magnitude >= 0x38800000u) {  // normal in f16: rebias the exponent (127 → 15), round 13 bits away
    std::uint32_t v = magnitude - 0x38000000u;
    v += 0x0fffu + ((v >> 13) & 1u);
    return static_cast<std::uint16_t>(sign | (v >> 13));
  }
  const std::uint32_t exponent = magnitude >> 23;
  if (exponent < 102) return sign;  // below half the smallest subnormal (2^-25): rounds to zero
  // Subnormal in f16: the value in units of 2^-24 is mantissa * 2^(exponent - 126).
  const std::uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
  const std::uint32_t shift = 126 - exponent;  // 14..24
  std::uint32_t q = mantissa >> shift;
  const std::uint32_t rest = mantissa & ((1u << shift) - 1u), half = 1u << (shift - 1);
  if (rest > half || (rest == half && (q & 1u))) ++q;  // may carry into the smallest normal: correct
  return static_cast<std::uint16_t>(sign | q);
}
inline float f16_bits_to_f32(std::uint16_t half) {
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1fu;
  const std::uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0) return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
  const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;  // subnormal or zero, exact
  return sign ? -magnitude : magnitude;
}

}  // namespace sieve::core
