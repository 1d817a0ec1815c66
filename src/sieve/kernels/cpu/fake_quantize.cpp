#include "sieve/kernels/cpu/fake_quantize.h"

#include <algorithm>
#include <cmath>

#include "sieve/core/error.h"
#include "sieve/core/parallel.h"

// Shapes: x, y [rows, cols], groups of `group` columns within a row.

namespace sieve::kernels::cpu {

void fake_quantize_groups(std::int64_t rows, std::int64_t cols, std::int64_t group, int qmax, const float* x,
                          float* y) {
  SIEVE_CHECK(rows >= 0 && cols > 0 && group > 0 && qmax > 0,
              "fake_quantize_groups: expected rows >= 0, cols > 0, group > 0, qmax > 0, got {} {} {} {}", rows, cols,
              group, qmax);
  const auto limit = static_cast<float>(qmax);
  core::parallel_for(rows, std::max<std::int64_t>(1, 16384 / cols), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      for (std::int64_t g0 = 0; g0 < cols; g0 += group) {
        const std::int64_t g1 = std::min(cols, g0 + group);
        float peak = 0.0f;
        for (std::int64_t c = g0; c < g1; ++c) peak = std::max(peak, std::fabs(xr[c]));
        const float scale = peak > 0.0f ? peak / limit : 1.0f;
        for (std::int64_t c = g0; c < g1; ++c)
          yr[c] = scale * std::clamp(std::round(xr[c] / scale), -limit, limit);
      }
    }
  });
}

}  // namespace sieve::kernels::cpu
