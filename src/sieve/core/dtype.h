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

// IEEE binary16, round to nearest even, overflow to inf, subnormals kept.
inline std::uint16_t f32_to_f16_bits(float value) { return std::bit_cast<std::uint16_t>(static_cast<_Float16>(value)); }
inline float f16_bits_to_f32(std::uint16_t bits) { return static_cast<float>(std::bit_cast<_Float16>(bits)); }

}  // namespace sieve::core
