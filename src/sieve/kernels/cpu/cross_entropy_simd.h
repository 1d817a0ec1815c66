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
  // Both at once: lse as logsumexp_f32, dlogits as backward_f32, and target_logit[r] =
  // logits[r, targets[r]] (left unset for ignored rows), read before dlogits may overwrite it.
  void (*forward_backward_f32)(std::int64_t begin, std::int64_t end, std::int64_t V, const float* logits,
                               const std::int64_t* targets, std::int64_t ignore_index, float scale, float* lse,
                               float* target_logit, float* dlogits);
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
    // V = 8192) that the first just brought into cache, and, being compute-bound, fetches the
    // next row for the next memory-bound max pass.
    const float* next = r + 1 < end ? xr + V : nullptr;
    const float m = row_max<S>(xr, V);
    lse[r] = m + S::log(row_sum_exp<S>(xr, V, m, next));
  }
}

template <class S>
void cross_entropy_forward_backward_rows(std::int64_t begin, std::int64_t end, std::int64_t V, const float* logits,
                                         const std::int64_t* targets, std::int64_t ignore_index, float scale,
                                         float* lse, float* target_logit, float* dlogits) {
  using F = typename S::F;
  for (std::int64_t r = begin; r < end; ++r) {
    const float* xr = logits + r * V;  // [V]
    float* dr = dlogits + r * V;       // [V]
    const std::int64_t t = targets[r];
    const float* next = r + 1 < end ? xr + V : nullptr;  // prefetched by the exp pass
    const float m = row_max<S>(xr, V);
    if (t == ignore_index) {
      lse[r] = m + S::log(row_sum_exp<S>(xr, V, m, next));
      for_each_vector<S>(V, [&](std::int64_t i, std::int64_t len) { store_n<S>(dr + i, S::zero(), len); });
      continue;
    }
    target_logit[r] = xr[t];
    // e = exp(x - m) goes straight into dlogits while it is summed, in the same order as
    // row_sum_exp, so lse is bit-identical to logsumexp_rows'. Tail lanes load -inf (adding 0).
    const F m_v = S::set1(m);
    const F sum_v = fold_vectors<S>(
        V, S::zero(),
        [&](F a, std::int64_t i, std::int64_t len) {
          prefetch_line<S>(next, i);
          const F e = S::exp(S::sub(load_n<S>(xr + i, len, -__builtin_inff()), m_v));
          store_n<S>(dr + i, e, len);
          return S::add(a, e);
        },
        [](F a, F b) { return S::add(a, b); });
    const float sum = S::reduce_add(sum_v);
    lse[r] = m + S::log(sum);
    // softmax * scale = e * (scale / sum), rescaled in place while the row is still in cache.
    const F k_v = S::set1(scale / sum);
    for_each_vector<S>(V, [&](std::int64_t i, std::int64_t len) {
      store_n<S>(dr + i, S::mul(load_n<S>(dr + i, len), k_v), len);
    });
    dr[t] -= scale;
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
  return {&logsumexp_rows<S>, &cross_entropy_backward_rows<S>, &cross_entropy_forward_backward_rows<S>};
}

}  // namespace sieve::kernels::cpu
