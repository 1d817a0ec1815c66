#include "sieve/kernels/cpu/embedding.h"

#include <algorithm>
#include <cstring>

#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/dtype_support.h"

// Shapes: table, dtable [V, C]; ids [N]; out, dout [N, C].

namespace sieve::kernels::cpu {
namespace {

// Validated up front, on the calling thread: an exception cannot leave a parallel region, and
// nothing should be half-written when an id is bad.
void check_inputs(const char* kernel, std::int64_t N, std::int64_t C, std::int64_t V, const std::int64_t* ids) {
  SIEVE_CHECK(N >= 0 && C > 0 && V > 0, "{}: expected N >= 0, C > 0 and V > 0, got N={} C={} V={}", kernel, N, C, V);
  for (std::int64_t n = 0; n < N; ++n) {
    SIEVE_CHECK(ids[n] >= 0 && ids[n] < V, "{}: token id {} at position {} is out of range for a vocab of V={} rows",
                kernel, ids[n], n, V);
  }
}

}  // namespace

void embedding_forward(core::DType dtype, std::int64_t N, std::int64_t C, std::int64_t V, const void* table,
                       const std::int64_t* ids, void* out) {
  check_inputs("embedding_forward", N, C, V, ids);
  switch (dtype) {
    case core::DType::f32: {
      const auto* src = static_cast<const float*>(table);
      auto* dst = static_cast<float*>(out);
      core::parallel_for(N, std::max<std::int64_t>(1, 16384 / C), [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t n = begin; n < end; ++n) {
          std::memcpy(dst + n * C, src + ids[n] * C, static_cast<std::size_t>(C) * sizeof(float));
        }
      });
      return;
    }
    default:
      throw_unsupported_dtype("embedding_forward", dtype);
  }
}

void embedding_backward(core::DType dtype, std::int64_t N, std::int64_t C, std::int64_t V,
                        const std::int64_t* ids, const void* dout, float* dtable) {
  check_inputs("embedding_backward", N, C, V, ids);
  switch (dtype) {
    case core::DType::f32: {
      const auto* grad = static_cast<const float*>(dout);
      // Split by channels, not by ids: two rows with the same id never meet in different threads.
      // Each task still streams every id, so keep chunks wide (>= 64 channels) unless C is small.
      core::parallel_for(C, 64, [&](std::int64_t c0, std::int64_t c1) {
        const std::int64_t width = c1 - c0;
        for (std::int64_t n = 0; n < N; ++n) {
          float* dst = dtable + ids[n] * C + c0;   // [width]
          const float* src = grad + n * C + c0;    // [width]
          for (std::int64_t c = 0; c < width; ++c) dst[c] += src[c];
        }
      });
      return;
    }
    default:
      throw_unsupported_dtype("embedding_backward", dtype);
  }
}

}  // namespace sieve::kernels::cpu
