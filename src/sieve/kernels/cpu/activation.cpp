#include "sieve/kernels/cpu/activation.h"

#include <cmath>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/activation_simd.h"
#include "sieve/kernels/cpu/dtype_support.h"
#include "sieve/kernels/cpu/simd_scalar.h"

// Shapes: n elements; x, y, dy, dx, gate, up, out, dout, dgate, dup are all [n].

namespace sieve::kernels::cpu {
namespace {

const ActivationKernels& kernels() {
  static const ActivationKernels table = [] {
    const core::CpuFeatures& cpu = core::cpu_features();
    if (cpu.has_avx512()) return avx512::activation_kernels();
    if (cpu.has_avx2()) return avx2::activation_kernels();
    return make_activation_kernels<scalar::Simd>();
  }();
  return table;
}

// Elements per parallel task: enough to be worth a thread hand-off.
constexpr std::int64_t kGrain = 16384;

void check_count(const char* kernel, std::int64_t n) {
  SIEVE_CHECK(n >= 0, "{}: expected n >= 0, got {}", kernel, n);
}

// Runs span(begin, end) over [0, n) in parallel chunks.
template <class Span>
void run_parallel(std::int64_t n, Span&& span) {
  core::parallel_for(n, kGrain, [&](std::int64_t begin, std::int64_t end) { span(begin, end); });
}

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// Phi(x) through erfc so that the far negative tail (where 1 + erf(x) cancels) stays accurate.
float normal_cdf(float x) { return 0.5f * std::erfc(-x * kInvSqrt2); }

}  // namespace

void silu_forward(core::DType dtype, std::int64_t n, const void* x, void* y) {
  check_count("silu_forward", n);
  switch (dtype) {
    case core::DType::f32: {
      const auto kernel = kernels().silu_forward_f32;
      const auto* xf = static_cast<const float*>(x);
      auto* yf = static_cast<float*>(y);
      run_parallel(n, [&](std::int64_t b, std::int64_t e) { kernel(e - b, xf + b, yf + b); });
      return;
    }
    default:
      throw_unsupported_dtype("silu_forward", dtype);
  }
}

void silu_backward(core::DType dtype, std::int64_t n, const void* x, const void* dy, void* dx) {
  check_count("silu_backward", n);
  switch (dtype) {
    case core::DType::f32: {
      const auto kernel = kernels().silu_backward_f32;
      const auto* xf = static_cast<const float*>(x);
      const auto* dyf = static_cast<const float*>(dy);
      auto* dxf = static_cast<float*>(dx);
      run_parallel(n, [&](std::int64_t b, std::int64_t e) { kernel(e - b, xf + b, dyf + b, dxf + b); });
      return;
    }
    default:
      throw_unsupported_dtype("silu_backward", dtype);
  }
}

void gelu_forward(core::DType dtype, std::int64_t n, const void* x, void* y) {
  check_count("gelu_forward", n);
  switch (dtype) {
    case core::DType::f32: {
      const auto* xf = static_cast<const float*>(x);
      auto* yf = static_cast<float*>(y);
      run_parallel(n, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) yf[i] = xf[i] * normal_cdf(xf[i]);
      });
      return;
    }
    default:
      throw_unsupported_dtype("gelu_forward", dtype);
  }
}

void gelu_backward(core::DType dtype, std::int64_t n, const void* x, const void* dy, void* dx) {
  check_count("gelu_backward", n);
  switch (dtype) {
    case core::DType::f32: {
      const auto* xf = static_cast<const float*>(x);
      const auto* dyf = static_cast<const float*>(dy);
      auto* dxf = static_cast<float*>(dx);
      run_parallel(n, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) {
          const float v = xf[i];
          const float density = kInvSqrt2Pi * std::exp(-0.5f * v * v);
          dxf[i] = dyf[i] * (normal_cdf(v) + v * density);
        }
      });
      return;
    }
    default:
      throw_unsupported_dtype("gelu_backward", dtype);
  }
}

void swiglu_forward(core::DType dtype, std::int64_t n, const void* gate, const void* up, void* out) {
  check_count("swiglu_forward", n);
  switch (dtype) {
    case core::DType::f32: {
      const auto kernel = kernels().swiglu_forward_f32;
      const auto* g = static_cast<const float*>(gate);
      const auto* u = static_cast<const float*>(up);
      auto* o = static_cast<float*>(out);
      run_parallel(n, [&](std::int64_t b, std::int64_t e) { kernel(e - b, g + b, u + b, o + b); });
      return;
    }
    default:
      throw_unsupported_dtype("swiglu_forward", dtype);
  }
}

void swiglu_backward(core::DType dtype, std::int64_t n, const void* gate, const void* up, const void* dout,
                     void* dgate, void* dup) {
  check_count("swiglu_backward", n);
  switch (dtype) {
    case core::DType::f32: {
      const auto kernel = kernels().swiglu_backward_f32;
      const auto* g = static_cast<const float*>(gate);
      const auto* u = static_cast<const float*>(up);
      const auto* d = static_cast<const float*>(dout);
      auto* dg = static_cast<float*>(dgate);
      auto* du = static_cast<float*>(dup);
      run_parallel(n, [&](std::int64_t b, std::int64_t e) {
        kernel(e - b, g + b, u + b, d + b, dg + b, du + b);
      });
      return;
    }
    default:
      throw_unsupported_dtype("swiglu_backward", dtype);
  }
}

}  // namespace sieve::kernels::cpu
