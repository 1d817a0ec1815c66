// Softmax row kernels, written once against a Simd traits type and instantiated per ISA:
// softmax.cpp (scalar), softmax_avx2.cpp, softmax_avx512.cpp. softmax.cpp picks a set at run
// time and splits rows across threads. Shapes as in softmax.h: x, y, dy, dx [rows, C]; every
// function here handles the rows [begin, end).
#pragma once

#include <cstdint>

#include "sieve/kernels/cpu/simd_loops.h"

namespace sieve::kernels::cpu {

struct SoftmaxRowKernels {
  void (*forward_f32)(std::int64_t begin, std::int64_t end, std::int64_t C, const float* x, float* y);
  void (*backward_f32)(std::int64_t begin, std::int64_t end, std::int64_t C, const float* y, const float* dy,
                       float* dx);
};

namespace avx512 {
SoftmaxRowKernels softmax_row_kernels();
}
namespace avx2 {
SoftmaxRowKernels softmax_row_kernels();
}

template <class S>
void softmax_forward_rows(std::int64_t begin, std::int64_t end, std::int64_t C, const float* x, float* y) {
  using F = typename S::F;
  for (std::int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * C;  // [C]
    float* yr = y + r * C;        // [C]
    const F max_v = S::set1(row_max<S>(xr, C));
    // Pass 2 writes e = exp(x - max) and sums it, and, being compute-bound, fetches the next row
    // for the next memory-bound max pass; pass 3 rescales y in place (the row is still in cache).
    const float* next = r + 1 < end ? xr + C : nullptr;
    F sum_v = S::zero();
    for_each_vector<S>(C, [&](std::int64_t i, std::int64_t len) {
      prefetch_line<S>(next, i);
      // Tail lanes load -inf, so they add exp(-inf) = 0 to the sum.
      const F e = S::exp(S::sub(load_n<S>(xr + i, len, -__builtin_inff()), max_v));
      store_n<S>(yr + i, e, len);
      sum_v = S::add(sum_v, e);
    });
    const F inv_v = S::set1(1.0f / S::reduce_add(sum_v));
    for_each_vector<S>(C, [&](std::int64_t i, std::int64_t len) {
      store_n<S>(yr + i, S::mul(load_n<S>(yr + i, len), inv_v), len);
    });
  }
}

template <class S>
void softmax_backward_rows(std::int64_t begin, std::int64_t end, std::int64_t C, const float* y,
                           const float* dy, float* dx) {
  using F = typename S::F;
  for (std::int64_t r = begin; r < end; ++r) {
    const float* yr = y + r * C;    // [C]
    const float* dyr = dy + r * C;  // [C]
    float* dxr = dx + r * C;        // [C]
    const F dot_v = S::set1(row_dot<S>(yr, dyr, C));
    for_each_vector<S>(C, [&](std::int64_t i, std::int64_t len) {
      const F yv = load_n<S>(yr + i, len);
      store_n<S>(dxr + i, S::mul(yv, S::sub(load_n<S>(dyr + i, len), dot_v)), len);
    });
  }
}

template <class S>
SoftmaxRowKernels make_softmax_row_kernels() {
  return {&softmax_forward_rows<S>, &softmax_backward_rows<S>};
}

}  // namespace sieve::kernels::cpu
