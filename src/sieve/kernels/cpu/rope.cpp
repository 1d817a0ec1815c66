#include "sieve/kernels/cpu/rope.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/dtype_support.h"
#include "sieve/kernels/cpu/rope_simd.h"
#include "sieve/kernels/cpu/simd_scalar.h"

// Shapes: x, y, dy, dx [B, T, H, D]; cos/sin tables [positions, D/2].

namespace sieve::kernels::cpu {
namespace {

RopeRowsF32 rows_kernel() {
  static const RopeRowsF32 kernel = [] {
    const core::CpuFeatures& cpu = core::cpu_features();
    if (cpu.has_avx512()) return avx512::rope_rows_kernel();
    if (cpu.has_avx2()) return avx2::rope_rows_kernel();
    return static_cast<RopeRowsF32>(&rope_rows<scalar::Simd>);
  }();
  return kernel;
}

// cos/sin of p * theta^(-2i/D) for positions p in [first, first + count) and i < D/2.
struct RopeTable {
  std::int64_t first = 0;
  std::int64_t count = 0;
  std::vector<float> cos;  // [count, D/2]
  std::vector<float> sin;  // [count, D/2]
};

// Fills rows [from, table.count) of a table for head dim D. The angle is formed and reduced in
// double and rounded to float once: a float angle would be off by ~1e-4 rad at p ~ 2000.
void fill_rows(RopeTable& table, std::int64_t from, std::int64_t D, double theta) {
  const std::int64_t half = D / 2;
  std::vector<double> inv_freq(static_cast<std::size_t>(half));  // [D/2]
  for (std::int64_t i = 0; i < half; ++i) {
    inv_freq[i] = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(D));
  }
  core::parallel_for(table.count - from, std::max<std::int64_t>(1, 4096 / half),
                     [&](std::int64_t begin, std::int64_t end) {
                       for (std::int64_t row = from + begin; row < from + end; ++row) {
                         const double p = static_cast<double>(table.first + row);
                         for (std::int64_t i = 0; i < half; ++i) {
                           const double angle = p * inv_freq[i];
                           table.cos[row * half + i] = static_cast<float>(std::cos(angle));
                           table.sin[row * half + i] = static_cast<float>(std::sin(angle));
                         }
                       }
                     });
}

// Cached tables start at position 0 and hold at most this many cos (and sin) values each; a
// call reaching past it gets a table for just its own positions, built and dropped per call.
constexpr std::int64_t kMaxCachedValues = std::int64_t{1} << 22;  // 16 MiB of cos + 16 MiB of sin

// Calls of at most this many positions (decode steps) never grow the cached table: past its end
// they get rows of their own. Growing doubles the table, so one decode step just past a 64k-token
// prompt would compute 64k rows (~0.1 s within one token's time) to use one; its own row costs
// D/2 sines and cosines. Longer calls (prompts, training) grow it.
constexpr std::int64_t kShortCall = 64;

std::shared_ptr<const RopeTable> uncached_table(std::int64_t D, float theta, std::int64_t first, std::int64_t end) {
  const std::int64_t half = D / 2;
  auto table = std::make_shared<RopeTable>();
  table->first = first;
  table->count = end - first;
  table->cos.resize(static_cast<std::size_t>(table->count * half));
  table->sin.resize(static_cast<std::size_t>(table->count * half));
  fill_rows(*table, 0, D, theta);
  return table;
}

std::mutex& table_mutex() {
  static std::mutex mutex;
  return mutex;
}

// The cached table of (D, theta), null until a call builds it. Hold table_mutex().
std::shared_ptr<const RopeTable>& cached_table(std::int64_t D, float theta) {
  static std::map<std::pair<std::int64_t, std::uint32_t>, std::shared_ptr<const RopeTable>> cache;
  return cache[{D, std::bit_cast<std::uint32_t>(theta)}];
}

// Returns a table covering positions [first, end): the cached one (grown first if the call is
// long and reaches past it) or one of the call's own. Cached tables are immutable once shared:
// growing one builds a larger copy, so a caller keeps a valid table while another thread grows it.
std::shared_ptr<const RopeTable> rope_table(std::int64_t D, float theta, std::int64_t first, std::int64_t end) {
  const std::int64_t half = D / 2;
  if (end * half <= kMaxCachedValues) {
    const std::lock_guard<std::mutex> lock(table_mutex());
    std::shared_ptr<const RopeTable>& cached = cached_table(D, theta);
    if (cached != nullptr && cached->count >= end) return cached;
    if (end - first > kShortCall) {
      // Grow geometrically (at least 256 positions) so calls reaching further each time rebuild
      // O(log n) times.
      const std::int64_t old_count = cached != nullptr ? cached->count : 0;
      const std::int64_t count =
          std::min(std::max({end, 2 * old_count, std::int64_t{256}}), kMaxCachedValues / half);
      auto table = std::make_shared<RopeTable>();
      table->count = count;
      table->cos.resize(static_cast<std::size_t>(count * half));
      table->sin.resize(static_cast<std::size_t>(count * half));
      if (cached != nullptr) {
        std::copy(cached->cos.begin(), cached->cos.end(), table->cos.begin());
        std::copy(cached->sin.begin(), cached->sin.end(), table->sin.begin());
      }
      fill_rows(*table, old_count, D, theta);
      cached = table;
      return table;
    }
  }
  return uncached_table(D, theta, first, end);
}

void rope_apply(const char* kernel, core::DType dtype, std::int64_t B, std::int64_t T, std::int64_t H,
                std::int64_t D, std::int64_t position_offset, float theta, float sin_sign, const void* in,
                void* out) {
  SIEVE_CHECK(B >= 0 && T >= 0 && H >= 0 && D > 0 && D % 2 == 0,
              "{}: expected B, T, H >= 0 and an even head dim D > 0, got B={} T={} H={} D={}", kernel, B, T, H, D);
  SIEVE_CHECK(position_offset >= 0, "{}: position_offset must be >= 0, got {}", kernel, position_offset);
  SIEVE_CHECK(theta > 0.0f && std::isfinite(theta), "{}: theta must be a positive finite number, got {}", kernel,
              theta);
  switch (dtype) {
    case core::DType::f32: {
      if (B == 0 || T == 0 || H == 0) return;
      const std::shared_ptr<const RopeTable> table = rope_table(D, theta, position_offset, position_offset + T);
      const std::int64_t half = D / 2;
      const float* cos_t0 = table->cos.data() + (position_offset - table->first) * half;  // [T, D/2]
      const float* sin_t0 = table->sin.data() + (position_offset - table->first) * half;  // [T, D/2]
      const RopeRowsF32 rows = rows_kernel();
      const auto* x = static_cast<const float*>(in);
      auto* y = static_cast<float*>(out);
      core::parallel_for(B * T, std::max<std::int64_t>(1, 16384 / (H * D)), [&](std::int64_t begin, std::int64_t end) {
        rows(begin, end, T, H, D, cos_t0, sin_t0, sin_sign, x, y);
      });
      return;
    }
    default:
      throw_unsupported_dtype(kernel, dtype);
  }
}

}  // namespace

void rope_forward(core::DType dtype, std::int64_t B, std::int64_t T, std::int64_t H, std::int64_t D,
                  std::int64_t position_offset, float theta, const void* x, void* y) {
  rope_apply("rope_forward", dtype, B, T, H, D, position_offset, theta, 1.0f, x, y);
}

void rope_backward(core::DType dtype, std::int64_t B, std::int64_t T, std::int64_t H, std::int64_t D,
                   std::int64_t position_offset, float theta, const void* dy, void* dx) {
  rope_apply("rope_backward", dtype, B, T, H, D, position_offset, theta, -1.0f, dy, dx);
}

std::int64_t rope_cached_positions(std::int64_t D, float theta) {
  const std::lock_guard<std::mutex> lock(table_mutex());
  const std::shared_ptr<const RopeTable>& cached = cached_table(D, theta);
  return cached != nullptr ? cached->count : 0;
}

}  // namespace sieve::kernels::cpu
