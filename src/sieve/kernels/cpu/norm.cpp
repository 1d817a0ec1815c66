#include "sieve/kernels/cpu/norm.h"

#include <algorithm>
#include <functional>
#include <vector>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/dtype_support.h"
#include "sieve/kernels/cpu/norm_simd.h"
#include "sieve/kernels/cpu/simd_scalar.h"

// Shapes: rows vectors of C channels; x, y, dy, dx [rows, C]; weight, bias [C]; mean, rstd [rows].

namespace sieve::kernels::cpu {
namespace {

const NormRowKernels& row_kernels() {
  static const NormRowKernels kernels = [] {
    const core::CpuFeatures& cpu = core::cpu_features();
    if (cpu.has_avx512()) return avx512::norm_row_kernels();
    if (cpu.has_avx2()) return avx2::norm_row_kernels();
    return make_norm_row_kernels<scalar::Simd>();
  }();
  return kernels;
}

// Rows per parallel task: enough elements to be worth a thread hand-off.
std::int64_t row_grain(std::int64_t C) { return std::max<std::int64_t>(1, 16384 / C); }

void check_shape(const char* kernel, std::int64_t rows, std::int64_t C) {
  SIEVE_CHECK(rows >= 0 && C > 0, "{}: expected rows >= 0 and C > 0, got rows={} C={}", kernel, rows, C);
}

using BlockBackward = std::function<void(std::int64_t begin, std::int64_t end, float* dweight_partial,
                                         float* dbias_partial)>;

// Weight (and bias) gradients are sums over rows. Each fixed block of rows sums into its own
// [C] accumulator, in parallel; the blocks are then added in order in double. The split depends
// only on (rows, C), never on the thread count, so the result is the same for any thread count.
void backward_in_row_blocks(std::int64_t rows, std::int64_t C, float* dweight, float* dbias,
                            const BlockBackward& block_backward) {
  constexpr std::int64_t kMaxBlocks = 64;
  const std::int64_t rows_per_block = std::max((4096 + C - 1) / C, (rows + kMaxBlocks - 1) / kMaxBlocks);
  const std::int64_t blocks = (rows + rows_per_block - 1) / rows_per_block;
  std::vector<float> dweight_partial(static_cast<std::size_t>(blocks * C), 0.0f);  // [blocks, C]
  std::vector<float> dbias_partial(dbias != nullptr ? static_cast<std::size_t>(blocks * C) : 0, 0.0f);
  core::parallel_for(blocks, 1, [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {
      const std::int64_t begin = b * rows_per_block;
      const std::int64_t end = std::min(rows, begin + rows_per_block);
      block_backward(begin, end, dweight_partial.data() + b * C,
                     dbias != nullptr ? dbias_partial.data() + b * C : nullptr);
    }
  });
  core::parallel_for(C, 256, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      double dw = 0.0;
      double db = 0.0;
      for (std::int64_t b = 0; b < blocks; ++b) {
        dw += dweight_partial[b * C + c];
        if (dbias != nullptr) db += dbias_partial[b * C + c];
      }
      dweight[c] += static_cast<float>(dw);
      if (dbias != nullptr) dbias[c] += static_cast<float>(db);
    }
  });
}

}  // namespace

void rmsnorm_forward(core::DType dtype, std::int64_t rows, std::int64_t C, const void* x,
                     const float* weight, float eps, void* y, float* rstd) {
  check_shape("rmsnorm_forward", rows, C);
  switch (dtype) {
    case core::DType::f32: {
      const auto kernel = row_kernels().rmsnorm_forward_f32;
      const auto* xf = static_cast<const float*>(x);
      auto* yf = static_cast<float*>(y);
      core::parallel_for(rows, row_grain(C), [&](std::int64_t begin, std::int64_t end) {
        kernel(begin, end, C, xf, weight, eps, yf, rstd);
      });
      return;
    }
    default:
      throw_unsupported_dtype("rmsnorm_forward", dtype);
  }
}

void rmsnorm_backward(core::DType dtype, std::int64_t rows, std::int64_t C, const void* x,
                      const float* weight, const float* rstd, const void* dy, void* dx, float* dweight) {
  check_shape("rmsnorm_backward", rows, C);
  switch (dtype) {
    case core::DType::f32: {
      const auto kernel = row_kernels().rmsnorm_backward_f32;
      const auto* xf = static_cast<const float*>(x);
      const auto* dyf = static_cast<const float*>(dy);
      auto* dxf = static_cast<float*>(dx);
      backward_in_row_blocks(rows, C, dweight, nullptr,
                             [&](std::int64_t begin, std::int64_t end, float* dw, float*) {
                               kernel(begin, end, C, xf, weight, rstd, dyf, dxf, dw);
                             });
      return;
    }
    default:
      throw_unsupported_dtype("rmsnorm_backward", dtype);
  }
}

void layernorm_forward(core::DType dtype, std::int64_t rows, std::int64_t C, const void* x,
                       const float* weight, const float* bias, float eps, void* y, float* mean,
                       float* rstd) {
  check_shape("layernorm_forward", rows, C);
  switch (dtype) {
    case core::DType::f32: {
      const auto kernel = row_kernels().layernorm_forward_f32;
      const auto* xf = static_cast<const float*>(x);
      auto* yf = static_cast<float*>(y);
      core::parallel_for(rows, row_grain(C), [&](std::int64_t begin, std::int64_t end) {
        kernel(begin, end, C, xf, weight, bias, eps, yf, mean, rstd);
      });
      return;
    }
    default:
      throw_unsupported_dtype("layernorm_forward", dtype);
  }
}

void layernorm_backward(core::DType dtype, std::int64_t rows, std::int64_t C, const void* x,
                        const float* weight, const float* mean, const float* rstd, const void* dy,
                        void* dx, float* dweight, float* dbias) {
  check_shape("layernorm_backward", rows, C);
  switch (dtype) {
    case core::DType::f32: {
      const auto kernel = row_kernels().layernorm_backward_f32;
      const auto* xf = static_cast<const float*>(x);
      const auto* dyf = static_cast<const float*>(dy);
      auto* dxf = static_cast<float*>(dx);
      backward_in_row_blocks(rows, C, dweight, dbias,
                             [&](std::int64_t begin, std::int64_t end, float* dw, float* db) {
                               kernel(begin, end, C, xf, weight, mean, rstd, dyf, dxf, dw, db);
                             });
      return;
    }
    default:
      throw_unsupported_dtype("layernorm_backward", dtype);
  }
}

}  // namespace sieve::kernels::cpu
