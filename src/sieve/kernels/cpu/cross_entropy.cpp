#include "sieve/kernels/cpu/cross_entropy.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/cross_entropy_simd.h"
#include "sieve/kernels/cpu/dtype_support.h"
#include "sieve/kernels/cpu/simd_scalar.h"

// Shapes: N rows over a vocabulary of V; logits, dlogits [N, V]; targets, lse [N].

namespace sieve::kernels::cpu {
namespace {

const CrossEntropyRowKernels& row_kernels() {
  static const CrossEntropyRowKernels kernels = [] {
    const core::CpuFeatures& cpu = core::cpu_features();
    if (cpu.has_avx512()) return avx512::cross_entropy_row_kernels();
    if (cpu.has_avx2()) return avx2::cross_entropy_row_kernels();
    return make_cross_entropy_row_kernels<scalar::Simd>();
  }();
  return kernels;
}

// Rows per parallel task: enough elements to be worth a thread hand-off.
std::int64_t row_grain(std::int64_t V) { return std::max<std::int64_t>(1, 16384 / V); }

// Validated up front, on the calling thread: an exception cannot leave a parallel region, and
// the row kernels index the target's column unchecked.
void check_inputs(const char* kernel, std::int64_t N, std::int64_t V, const std::int64_t* targets) {
  SIEVE_CHECK(N >= 0 && V > 0, "{}: expected N >= 0 and V > 0, got N={} V={}", kernel, N, V);
  for (std::int64_t r = 0; r < N; ++r) {
    const std::int64_t t = targets[r];
    SIEVE_CHECK(t == kCrossEntropyIgnoreIndex || (t >= 0 && t < V),
                "{}: target {} at row {} is out of range for vocab size V={} (expected 0 <= target < V, or {} "
                "to ignore the row)",
                kernel, t, r, V, kCrossEntropyIgnoreIndex);
  }
}

std::int64_t count_kept_rows(std::int64_t N, const std::int64_t* targets) {
  std::int64_t count = 0;
  for (std::int64_t r = 0; r < N; ++r) count += targets[r] != kCrossEntropyIgnoreIndex;
  return count;
}

// mean over kept rows of -log softmax(x)[t] = lse - x[t], summed in double in row order so the
// loss is reproducible; target_logit(r) gives x[r, targets[r]].
template <class TargetLogit>
float mean_loss(std::int64_t N, const std::int64_t* targets, const float* lse, TargetLogit&& target_logit,
                std::int64_t* count_out) {
  double total = 0.0;
  std::int64_t count = 0;
  for (std::int64_t r = 0; r < N; ++r) {
    if (targets[r] == kCrossEntropyIgnoreIndex) continue;
    total += static_cast<double>(lse[r]) - static_cast<double>(target_logit(r));
    ++count;
  }
  if (count_out != nullptr) *count_out = count;
  if (count == 0) return std::numeric_limits<float>::quiet_NaN();
  return static_cast<float>(total / static_cast<double>(count));
}

}  // namespace

float cross_entropy_forward(core::DType dtype, std::int64_t N, std::int64_t V, const void* logits,
                            const std::int64_t* targets, float* lse, std::int64_t* count_out) {
  check_inputs("cross_entropy_forward", N, V, targets);
  switch (dtype) {
    case core::DType::f32: {
      const auto kernel = row_kernels().logsumexp_f32;
      const auto* x = static_cast<const float*>(logits);
      std::vector<float> own_lse;
      if (lse == nullptr) {
        own_lse.resize(static_cast<std::size_t>(N));
        lse = own_lse.data();
      }
      core::parallel_for(N, row_grain(V), [&](std::int64_t begin, std::int64_t end) {
        kernel(begin, end, V, x, lse);
      });
      return mean_loss(N, targets, lse, [&](std::int64_t r) { return x[r * V + targets[r]]; }, count_out);
    }
    default:
      throw_unsupported_dtype("cross_entropy_forward", dtype);
  }
}

void cross_entropy_backward(core::DType dtype, std::int64_t N, std::int64_t V, const void* logits,
                            const std::int64_t* targets, const float* lse, float dloss, std::int64_t count,
                            void* dlogits) {
  check_inputs("cross_entropy_backward", N, V, targets);
  SIEVE_CHECK(count >= 0 && count <= N, "cross_entropy_backward: count {} outside [0, N={}]", count, N);
  switch (dtype) {
    case core::DType::f32: {
      const auto kernel = row_kernels().backward_f32;
      const auto* x = static_cast<const float*>(logits);
      auto* dx = static_cast<float*>(dlogits);
      const float scale = count > 0 ? dloss / static_cast<float>(count) : 0.0f;
      core::parallel_for(N, row_grain(V), [&](std::int64_t begin, std::int64_t end) {
        kernel(begin, end, V, x, targets, kCrossEntropyIgnoreIndex, lse, scale, dx);
      });
      return;
    }
    default:
      throw_unsupported_dtype("cross_entropy_backward", dtype);
  }
}

float cross_entropy_forward_backward(core::DType dtype, std::int64_t N, std::int64_t V, const void* logits,
                                     const std::int64_t* targets, float dloss, void* dlogits, float* lse,
                                     std::int64_t* count_out) {
  check_inputs("cross_entropy_forward_backward", N, V, targets);
  switch (dtype) {
    case core::DType::f32: {
      const auto kernel = row_kernels().forward_backward_f32;
      const auto* x = static_cast<const float*>(logits);
      auto* dx = static_cast<float*>(dlogits);
      // The mean's denominator is needed before any row is written.
      const std::int64_t count = count_kept_rows(N, targets);
      const float scale = count > 0 ? dloss / static_cast<float>(count) : 0.0f;
      std::vector<float> own_lse;
      if (lse == nullptr) {
        own_lse.resize(static_cast<std::size_t>(N));
        lse = own_lse.data();
      }
      std::vector<float> target_logit(static_cast<std::size_t>(N));  // [N]
      core::parallel_for(N, row_grain(V), [&](std::int64_t begin, std::int64_t end) {
        kernel(begin, end, V, x, targets, kCrossEntropyIgnoreIndex, scale, lse, target_logit.data(), dx);
      });
      return mean_loss(N, targets, lse, [&](std::int64_t r) { return target_logit[r]; }, count_out);
    }
    default:
      throw_unsupported_dtype("cross_entropy_forward_backward", dtype);
  }
}

}  // namespace sieve::kernels::cpu
