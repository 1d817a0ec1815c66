#include "sieve/kernels/cpu/convert.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"

namespace sieve::kernels::cpu {

// Converts n contiguous elements; the dispatcher hands each thread its own sub-range.
using ConvertFn = void (*)(std::int64_t n, const void* src, void* dst);

namespace avx512 {
// Defined in convert_avx512.cpp; nullptr for pairs without an AVX-512 loop.
ConvertFn convert_kernel(core::DType from, core::DType to);
}  // namespace avx512

namespace {

using core::DType;

// Elements per task: large enough that a thread's chunk dwarfs the fork/join cost.
constexpr std::int64_t kGrain = 1 << 16;

// Portable loops, used where AVX-512 is missing and for the pairs it has no loop for.
template <typename From, typename To, To (*op)(From)>
void map_loop(std::int64_t n, const void* src, void* dst) {
  const From* in = static_cast<const From*>(src);
  To* out = static_cast<To*>(dst);
  for (std::int64_t i = 0; i < n; ++i) out[i] = op(in[i]);
}

float bf16_to_f32(std::uint16_t bits) { return core::bf16_bits_to_f32(bits); }
std::uint16_t f32_to_bf16(float value) { return core::f32_to_bf16_bits(value); }
float f16_to_f32(std::uint16_t bits) { return core::f16_bits_to_f32(bits); }
std::uint16_t f32_to_f16(float value) { return core::f32_to_f16_bits(value); }
std::uint16_t bf16_to_f16(std::uint16_t bits) { return core::f32_to_f16_bits(core::bf16_bits_to_f32(bits)); }
std::uint16_t f16_to_bf16(std::uint16_t bits) { return core::f32_to_bf16_bits(core::f16_bits_to_f32(bits)); }

template <typename Int>
float int_to_f32(Int value) {
  return static_cast<float>(value);
}

// Round half to even (the default FP environment), then saturate; NaN has no integer, use 0.
template <typename Int>
Int f32_to_int(float value) {
  if (std::isnan(value)) return 0;
  const float rounded = std::nearbyint(value);
  constexpr float lowest = static_cast<float>(std::numeric_limits<Int>::min());  // exact: 0 or -2^k
  constexpr float highest = static_cast<float>(std::numeric_limits<Int>::max());  // may round up to 2^k
  if (rounded <= lowest) return std::numeric_limits<Int>::min();
  if (rounded >= highest) return std::numeric_limits<Int>::max();
  return static_cast<Int>(rounded);
}

ConvertFn portable_kernel(DType from, DType to) {
  using u16 = std::uint16_t;
  if (from == DType::f32) {
    switch (to) {
      case DType::bf16: return map_loop<float, u16, f32_to_bf16>;
      case DType::f16: return map_loop<float, u16, f32_to_f16>;
      case DType::i8: return map_loop<float, std::int8_t, f32_to_int<std::int8_t>>;
      case DType::u8: return map_loop<float, std::uint8_t, f32_to_int<std::uint8_t>>;
      case DType::i32: return map_loop<float, std::int32_t, f32_to_int<std::int32_t>>;
      case DType::i64: return map_loop<float, std::int64_t, f32_to_int<std::int64_t>>;
      default: return nullptr;
    }
  }
  if (to == DType::f32) {
    switch (from) {
      case DType::bf16: return map_loop<u16, float, bf16_to_f32>;
      case DType::f16: return map_loop<u16, float, f16_to_f32>;
      case DType::i8: return map_loop<std::int8_t, float, int_to_f32<std::int8_t>>;
      case DType::u8: return map_loop<std::uint8_t, float, int_to_f32<std::uint8_t>>;
      case DType::i32: return map_loop<std::int32_t, float, int_to_f32<std::int32_t>>;
      case DType::i64: return map_loop<std::int64_t, float, int_to_f32<std::int64_t>>;
      default: return nullptr;
    }
  }
  if (from == DType::bf16 && to == DType::f16) return map_loop<u16, u16, bf16_to_f16>;
  if (from == DType::f16 && to == DType::bf16) return map_loop<u16, u16, f16_to_bf16>;
  return nullptr;
}

ConvertFn select_kernel(DType from, DType to) {
  if (core::cpu_features().has_avx512())
    if (ConvertFn fn = avx512::convert_kernel(from, to)) return fn;
  return portable_kernel(from, to);
}

}  // namespace

void convert(DType from, DType to, std::int64_t n, const void* src, void* dst) {
  SIEVE_CHECK(n >= 0, "convert: negative element count {}", n);
  if (n == 0) return;
  const auto from_size = static_cast<std::int64_t>(core::dtype_size(from));
  const auto to_size = static_cast<std::int64_t>(core::dtype_size(to));
  const auto* in = static_cast<const std::byte*>(src);
  auto* out = static_cast<std::byte*>(dst);
  if (from == to) {
    if (src == dst) return;
    core::parallel_for(n, kGrain, [&](std::int64_t begin, std::int64_t end) {
      std::memcpy(out + begin * to_size, in + begin * from_size, static_cast<std::size_t>((end - begin) * to_size));
    });
    return;
  }
  const ConvertFn kernel = select_kernel(from, to);
  SIEVE_CHECK(kernel != nullptr, "convert: no conversion from {} to {}", core::dtype_name(from),
              core::dtype_name(to));
  core::parallel_for(n, kGrain, [&](std::int64_t begin, std::int64_t end) {
    kernel(end - begin, in + begin * from_size, out + begin * to_size);
  });
}

}  // namespace sieve::kernels::cpu
