// Cross-entropy row kernels, written once against a Simd traits type and instantiated per ISA:
// cross_entropy.cpp (scalar), cross_entropy_avx2.cpp, cross_entropy_avx512.cpp.
// cross_entropy.cpp validates targets, picks a set at run time and splits rows across threads.
// Shapes as in cross_entropy.h: logits, dlogits [N, V]; every function handles rows [begin, end).
#pragma once

#include <cstdint>

#include "sieve/kernels/cpu/simd_loops.h"

namespace sieve::kernels::cpu {

struct CrossEntropyRowKernels {
  void (*logsumexp_f32)(std::int64_t begin, std::int64_t end, std::int64_t V, const float* logits, float* lse);
  // scale = dloss / count; rows whose target is ignore_index get zeros.
  void (*backward_f32)(std::int64_t begin, std::int64_t end, std::int64_t V, const float* logits,
                       const std::int64_t* targets, std::int64_t ignore_index, const float* lse, float scale,
                       float* dlogits);
};

namespace avx512 {
CrossEntropyRowKernels cross_entropy_row_kernels();
}
namespace avx2 {
CrossEntropyRowKernels cross_entropy_row_kernels();
}

template <class S>
void logsumexp_rows(std::int64_t begin, std::int64_t end, std::int64_t V, const float* logits, float* lse) {
  for (std::int64_t r = begin; r < end; ++r) {
    const float* xr = logits + r * V;  // [V]
    // Two passes over the row (max, then sum of exp): the second reads a row (32 KiB at
    // V = 8192) that the first just brought into cache.
    const float m = row_max<S>(xr, V);
    lse[r] = m + S::log(row_sum_exp<S>(xr, V, m));
  }
}

template <class S>
void cross_entropy_backward_rows(std::int64_t begin, std::int64_t end, std::int64_t V, const float* logits,
                                 const std::int64_t* targets, std::int64_t ignore_index, const float* lse,
                                 float scale, float* dlogits) {
  using F = typename S::F;
  for (std::int64_t r = begin; r < end; ++r) {
    const float* xr = logits + r * V;  // [V]
    float* dr = dlogits + r * V;       // [V]
    const std::int64_t t = targets[r];
    if (t == ignore_index) {
      for_each_vector<S>(V, [&](std::int64_t i, std::int64_t len) { store_n<S>(dr + i, S::zero(), len); });
      continue;
    }
    // softmax = exp(x - lse), scaled; each element is read before it is written, so dlogits may
    // be logits. The target's one-hot term is subtracted after the pass for the same reason.
    const F lse_v = S::set1(lse[r]);
    const F scale_v = S::set1(scale);
    for_each_vector<S>(V, [&](std::int64_t i, std::int64_t len) {
      const F p = S::exp(S::sub(load_n<S>(xr + i, len), lse_v));
      store_n<S>(dr + i, S::mul(p, scale_v), len);
    });
    dr[t] -= scale;
  }
}

template <class S>
CrossEntropyRowKernels make_cross_entropy_row_kernels() {
  return {&logsumexp_rows<S>, &cross_entropy_backward_rows<S>};
}

}  // namespace sieve::kernels::cpu
