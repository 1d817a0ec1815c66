// Picks the quantized kernel table for this CPU, and the portable (baseline x86-64) table used
// when there is neither AVX-512 nor AVX2 or SIEVE_ISA=scalar: one weight byte (two nibbles) a
// step, and 32-byte int8 dot products the compiler vectorizes with SSE2.
#include "sieve/kernels/cpu/quantized_kernels.h"

#include <cstdint>
#include <cstring>

#include "sieve/core/cpu_features.h"
#include "sieve/kernels/cpu/quantized_linear.h"

namespace sieve::kernels::cpu {
namespace scalar {
namespace {

#include "sieve/kernels/cpu/quantized_kernels_impl.h"

struct Traits {
  using F = float;
  static constexpr std::int64_t kWidth = 1;
  static F zero() { return 0.0f; }
  static F set1(float v) { return v; }
  static F load(const float* p) { return *p; }
  static void store(float* p, F v) { *p = v; }
  static F add(F a, F b) { return a + b; }
  static F mul(F a, F b) { return a * b; }
  static F fmadd(F a, F b, F c) { return a * b + c; }
  static float reduce_add(F v) { return v; }

  static F abs(F v) { return __builtin_fabsf(v); }
  static F max(F a, F b) { return a > b ? a : b; }
  static float reduce_max(F v) { return v; }
  static F div(F a, F b) { return a / b; }
  static F round_clamp(F v) { return round_clamp_127(v); }
  static void store_q(std::int8_t* p, F v) { *p = static_cast<std::int8_t>(v); }

  static void nibbles(const std::uint8_t* p, F& lo, F& hi) {
    lo = static_cast<float>(*p & 15);
    hi = static_cast<float>(*p >> 4);
  }
  static void expand_ordered(const std::uint8_t* p, F& first, F& second) {
    first = static_cast<float>((*p & 15) - 8);
    second = static_cast<float>((*p >> 4) - 8);
  }

  using I8 = std::int32_t;
  static constexpr std::int64_t kInt8Bytes = 32;
  static I8 i8_zero() { return 0; }
  static I8 i8_dot(I8 acc, const std::int8_t* x, const std::int8_t* w) {
    for (std::int64_t i = 0; i < kInt8Bytes; ++i) acc += std::int32_t{x[i]} * std::int32_t{w[i]};
    return acc;
  }
  static std::int32_t i8_reduce(I8 v) { return v; }
};

}  // namespace
}  // namespace scalar

const QuantizedKernels& quantized_kernels() {
  static const QuantizedKernels& kernels = [&]() -> const QuantizedKernels& {
    const core::CpuFeatures& cpu = core::cpu_features();
    if (cpu.has_avx512()) return avx512::quantized_kernels();
    if (cpu.has_avx2()) return avx2::quantized_kernels();
    static const QuantizedKernels portable = scalar::make_quantized_kernels<scalar::Traits>();
    return portable;
  }();
  return kernels;
}

}  // namespace sieve::kernels::cpu
