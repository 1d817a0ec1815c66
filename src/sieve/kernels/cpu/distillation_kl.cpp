#include "sieve/kernels/cpu/distillation_kl.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/distillation_kl_simd.h"
#include "sieve/kernels/cpu/simd_scalar.h"

// Shapes: N rows over a vocabulary of V; student, teacher, dstudent [N, V]; the lse arrays [N].

namespace sieve::kernels::cpu {
namespace {

const DistillationKlRowKernels& distillation_row_kernels() {
  static const DistillationKlRowKernels kernels = [] {
    const core::CpuFeatures& cpu = core::cpu_features();
    if (cpu.has_avx512()) return avx512::distillation_kl_row_kernels();
    if (cpu.has_avx2()) return avx2::distillation_kl_row_kernels();
    return make_distillation_kl_row_kernels<scalar::Simd>();
  }();
  return kernels;
}

// Rows per parallel task: enough elements to be worth a thread hand-off.
std::int64_t distillation_row_grain(std::int64_t V) { return std::max<std::int64_t>(1, 8192 / V); }

void check_shape(const char* kernel, std::int64_t N, std::int64_t V, float temperature) {
  SIEVE_CHECK(N >= 0 && V > 0, "{}: expected N >= 0 and V > 0, got N={} V={}", kernel, N, V);
  SIEVE_CHECK(temperature > 0.0f, "{}: the temperature must be > 0, got {}", kernel, temperature);
}

}  // namespace

float distillation_kl_forward(std::int64_t N, std::int64_t V, const float* student, const float* teacher,
                              float temperature, float* student_lse, float* teacher_lse) {
  check_shape("distillation_kl_forward", N, V, temperature);
  if (N == 0) return std::numeric_limits<float>::quiet_NaN();
  const auto kernel = distillation_row_kernels().forward;
  const float inv_t = 1.0f / temperature;
  std::vector<float> kl(static_cast<std::size_t>(N));  // [N]
  core::parallel_for(N, distillation_row_grain(V), [&](std::int64_t begin, std::int64_t end) {
    kernel(begin, end, V, student, teacher, inv_t, student_lse, teacher_lse, kl.data());
  });
  double total = 0.0;
  for (const float row : kl) total += row;
  return static_cast<float>(total / static_cast<double>(N));
}

void distillation_kl_backward(std::int64_t N, std::int64_t V, const float* student, const float* teacher,
                              float temperature, const float* student_lse, const float* teacher_lse, float dloss,
                              float* dstudent) {
  check_shape("distillation_kl_backward", N, V, temperature);
  if (N == 0) return;
  const auto kernel = distillation_row_kernels().backward;
  const float scale = dloss / (static_cast<float>(N) * temperature);
  core::parallel_for(N, distillation_row_grain(V), [&](std::int64_t begin, std::int64_t end) {
    kernel(begin, end, V, student, teacher, 1.0f / temperature, student_lse, teacher_lse, scale, dstudent);
  });
}

}  // namespace sieve::kernels::cpu
