#include "sieve/kernels/cpu/quantized_panels.h"

#include <algorithm>

#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/matmul.h"
#include "sieve/kernels/cpu/quantized_kernels.h"

namespace sieve::kernels::cpu {
namespace {

// Output columns a panel nominally holds: enough that the GEMM reuses each element of x that
// many times, few enough that an f32 panel of a 4k-wide weight stays a few MB.
constexpr std::int64_t kPanelRows = 128;
constexpr std::int64_t kRowAlign = 8;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

}  // namespace

void panel_product(const PanelProduct& p) {
  if (p.N == 0 || p.M == 0) return;
  // Whole rounds of panels per thread, so that no thread idles through the last round.
  const std::int64_t threads = core::num_threads();
  std::int64_t panels = ceil_div(p.M, kPanelRows);
  panels = std::min(ceil_div(panels, threads) * threads, ceil_div(p.M, kRowAlign));
  const std::int64_t rows = ceil_div(ceil_div(p.M, panels), kRowAlign) * kRowAlign;
  panels = ceil_div(p.M, rows);
  const std::int64_t chunks = ceil_div(p.K, p.k_chunk);
  const std::int64_t chunk_len = std::min(p.K, p.k_chunk);

  core::parallel_for(panels, 1, [&](std::int64_t begin, std::int64_t end) {
    ScratchArray<float> w(rows * chunk_len);
    ScratchArray<float> c(p.N * rows);
    for (std::int64_t panel = begin; panel < end; ++panel) {
      const std::int64_t m0 = panel * rows;
      const std::int64_t r = std::min(rows, p.M - m0);
      for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
        const std::int64_t k0 = chunk * p.k_chunk;
        const std::int64_t kc = std::min(p.k_chunk, p.K - k0);
        p.fill(m0, r, k0, kc, w.data());
        MatmulSpec spec;
        spec.m = p.N;
        spec.n = r;
        spec.k = kc;
        spec.trans_b = true;
        matmul(spec, p.a + p.N * k0, w.data(), c.data());
        p.store(m0, r, chunk, chunks, c.data());
      }
    }
  });
}

}  // namespace sieve::kernels::cpu
