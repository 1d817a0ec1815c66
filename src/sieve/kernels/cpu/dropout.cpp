#include "sieve/kernels/cpu/dropout.h"

#include <array>

#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/dtype_support.h"

// Shapes: x, y, dy, dx, mask [n].

namespace sieve::kernels::cpu {
namespace {

// Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3", SC'11): ten
// rounds of two 32x32->64 multiplies over a 128-bit counter, keyed by 64 bits. Counter-based, so
// any element's random bits are computed directly from (key, index).
std::array<std::uint32_t, 4> philox4x32(std::array<std::uint32_t, 4> counter, std::uint64_t seed) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u;
  constexpr std::uint32_t kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u;  // key schedule increments
  constexpr std::uint32_t kWeyl1 = 0xBB67AE85u;
  std::uint32_t key0 = static_cast<std::uint32_t>(seed);
  std::uint32_t key1 = static_cast<std::uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t product0 = std::uint64_t{kMul0} * counter[0];
    const std::uint64_t product1 = std::uint64_t{kMul1} * counter[2];
    const auto hi0 = static_cast<std::uint32_t>(product0 >> 32);
    const auto lo0 = static_cast<std::uint32_t>(product0);
    const auto hi1 = static_cast<std::uint32_t>(product1 >> 32);
    const auto lo1 = static_cast<std::uint32_t>(product1);
    counter = {hi1 ^ counter[1] ^ key0, lo1, hi0 ^ counter[3] ^ key1, lo0};
    key0 += kWeyl0;
    key1 += kWeyl1;
  }
  return counter;
}

// Writes keep flags for elements [begin, end): element i uses word i % 4 of block i / 4.
void fill_mask(std::int64_t begin, std::int64_t end, float p, std::uint64_t seed, std::uint8_t* mask) {
  for (std::int64_t block = begin / 4; block * 4 < end; ++block) {
    const auto index = static_cast<std::uint64_t>(block);
    const std::array<std::uint32_t, 4> words =
        philox4x32({static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32), 0u, 0u}, seed);
    for (std::int64_t lane = 0; lane < 4; ++lane) {
      const std::int64_t i = block * 4 + lane;
      if (i < begin || i >= end) continue;
      // Top 24 bits -> u in [0, 1), exactly representable in float.
      const float u = static_cast<float>(words[lane] >> 8) * 0x1p-24f;
      mask[i] = u >= p ? 1 : 0;
    }
  }
}

void check_args(const char* kernel, std::int64_t n, float p) {
  SIEVE_CHECK(n >= 0, "{}: expected n >= 0, got {}", kernel, n);
  SIEVE_CHECK(p >= 0.0f && p <= 1.0f, "{}: drop probability p must be in [0, 1], got {}", kernel, p);
}

float keep_scale(float p) { return p < 1.0f ? 1.0f / (1.0f - p) : 0.0f; }

constexpr std::int64_t kGrain = 16384;

}  // namespace

void dropout_forward(core::DType dtype, std::int64_t n, float p, std::uint64_t seed, const void* x, void* y,
                     std::uint8_t* mask) {
  check_args("dropout_forward", n, p);
  switch (dtype) {
    case core::DType::f32: {
      const auto* xf = static_cast<const float*>(x);
      auto* yf = static_cast<float*>(y);
      const float scale = keep_scale(p);
      core::parallel_for(n, kGrain, [&](std::int64_t begin, std::int64_t end) {
        fill_mask(begin, end, p, seed, mask);
        for (std::int64_t i = begin; i < end; ++i) yf[i] = mask[i] != 0 ? xf[i] * scale : 0.0f;
      });
      return;
    }
    default:
      throw_unsupported_dtype("dropout_forward", dtype);
  }
}

void dropout_backward(core::DType dtype, std::int64_t n, float p, const std::uint8_t* mask, const void* dy,
                      void* dx) {
  check_args("dropout_backward", n, p);
  switch (dtype) {
    case core::DType::f32: {
      const auto* dyf = static_cast<const float*>(dy);
      auto* dxf = static_cast<float*>(dx);
      const float scale = keep_scale(p);
      core::parallel_for(n, kGrain, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) dxf[i] = mask[i] != 0 ? dyf[i] * scale : 0.0f;
      });
      return;
    }
    default:
      throw_unsupported_dtype("dropout_backward", dtype);
  }
}

}  // namespace sieve::kernels::cpu
