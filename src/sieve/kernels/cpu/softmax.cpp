#include "sieve/kernels/cpu/softmax.h"

#include <algorithm>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/dtype_support.h"
#include "sieve/kernels/cpu/simd_scalar.h"
#include "sieve/kernels/cpu/softmax_simd.h"

// Shapes: rows vectors of C channels; x, y, dy, dx [rows, C].

namespace sieve::kernels::cpu {
namespace {

const SoftmaxRowKernels& row_kernels() {
  static const SoftmaxRowKernels kernels = [] {
    const core::CpuFeatures& cpu = core::cpu_features();
    if (cpu.has_avx512()) return avx512::softmax_row_kernels();
    if (cpu.has_avx2()) return avx2::softmax_row_kernels();
    return make_softmax_row_kernels<scalar::Simd>();
  }();
  return kernels;
}

// Rows per parallel task: enough elements to be worth a thread hand-off.
std::int64_t row_grain(std::int64_t C) { return std::max<std::int64_t>(1, 16384 / C); }

void check_shape(const char* kernel, std::int64_t rows, std::int64_t C) {
  SIEVE_CHECK(rows >= 0 && C > 0, "{}: expected rows >= 0 and C > 0, got rows={} C={}", kernel, rows, C);
}

}  // namespace

void softmax_forward(core::DType dtype, std::int64_t rows, std::int64_t C, const void* x, void* y) {
  check_shape("softmax_forward", rows, C);
  switch (dtype) {
    case core::DType::f32: {
      const auto kernel = row_kernels().forward_f32;
      const auto* xf = static_cast<const float*>(x);
      auto* yf = static_cast<float*>(y);
      core::parallel_for(rows, row_grain(C), [&](std::int64_t begin, std::int64_t end) {
        kernel(begin, end, C, xf, yf);
      });
      return;
    }
    default:
      throw_unsupported_dtype("softmax_forward", dtype);
  }
}

void softmax_backward(core::DType dtype, std::int64_t rows, std::int64_t C, const void* y, const void* dy,
                      void* dx) {
  check_shape("softmax_backward", rows, C);
  switch (dtype) {
    case core::DType::f32: {
      const auto kernel = row_kernels().backward_f32;
      const auto* yf = static_cast<const float*>(y);
      const auto* dyf = static_cast<const float*>(dy);
      auto* dxf = static_cast<float*>(dx);
      core::parallel_for(rows, row_grain(C), [&](std::int64_t begin, std::int64_t end) {
        kernel(begin, end, C, yf, dyf, dxf);
      });
      return;
    }
    default:
      throw_unsupported_dtype("softmax_backward", dtype);
  }
}

}  // namespace sieve::kernels::cpu
