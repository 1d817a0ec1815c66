// The large-N half of the quantized products: the weight is expanded to f32 one panel of output
// columns (rows of W) at a time and multiplied by the f32 GEMM (matmul.h), so it is never
// stored whole. Internal to the quantized linear files; letters as in quantized_linear.h.
#pragma once

#include <cstdint>
#include <functional>

namespace sieve::kernels::cpu {

struct PanelProduct {
  std::int64_t N = 0, M = 0, K = 0;
  // K is cut into chunks of this many (the last shorter); each chunk is its own GEMM.
  std::int64_t k_chunk = 0;
  // x in f32, chunk by chunk: the chunk at k0 of length kc is [N, kc] row-major at a + N·k0.
  const float* a = nullptr;
  // Writes w [rows, kc] = W[m0 .. m0 + rows, k0 .. k0 + kc) in f32.
  std::function<void(std::int64_t m0, std::int64_t rows, std::int64_t k0, std::int64_t kc, float* w)> fill;
  // Takes c [N, rows] = a_chunk · w_chunkᵀ for output columns [m0, m0 + rows); chunk 0 .. chunks − 1
  // of one panel arrive in order on one thread.
  std::function<void(std::int64_t m0, std::int64_t rows, std::int64_t chunk, std::int64_t chunks, const float* c)>
      store;
};

// Runs the panels in parallel on core::num_threads(), each panel's GEMMs on one thread.
void panel_product(const PanelProduct& product);

}  // namespace sieve::kernels::cpu
