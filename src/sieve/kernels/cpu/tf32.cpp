#include "sieve/kernels/cpu/tf32.h"

#include <bit>

#include "sieve/core/parallel.h"

namespace sieve::kernels::cpu {
namespace {

constexpr std::int64_t kGrain = 1 << 16;
constexpr std::uint32_t kDroppedBits = 13;  // f32 keeps 23 mantissa bits, tf32 10
constexpr std::uint32_t kExponentMask = 0x7f800000u;

// Branch-free so the loop vectorises: round half to even on the integer bits, except for
// inf/NaN (all-ones exponent), which keep their bits.
float round_one(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t lsb = (bits >> kDroppedBits) & 1u;
  const std::uint32_t rounded = (bits + ((1u << (kDroppedBits - 1)) - 1u) + lsb) & ~((1u << kDroppedBits) - 1u);
  const bool special = (bits & kExponentMask) == kExponentMask;
  return std::bit_cast<float>(special ? bits : rounded);
}

}  // namespace

void round_to_tf32(std::int64_t n, const float* src, float* dst) {
  core::parallel_for(n, kGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) dst[i] = round_one(src[i]);
  });
}

}  // namespace sieve::kernels::cpu
