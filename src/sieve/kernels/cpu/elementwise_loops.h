// Leaf loops of the elementwise kernels, one table per instruction set. Each entry runs on one
// thread over one contiguous range; elementwise.cpp does the dtype checks, the threading and
// the stride walking. Declarations only (no inline code), so per-ISA files may include it.
#pragma once

#include <cstdint>

#include "sieve/kernels/cpu/elementwise.h"

namespace sieve::kernels::cpu {

struct ElementwiseLoops {
  // out[i] = a[i * a_step] op b[i * b_step] for i in [0, n); a step is 0 (one broadcast value)
  // or 1 (contiguous).
  void (*binary)(BinaryOp op, std::int64_t n, const float* a, int a_step, const float* b, int b_step,
                 float* out);
  // out[i] = op(in[i]); returns false, doing nothing, for ops the table has no loop for.
  bool (*unary)(UnaryOp op, std::int64_t n, const float* in, float* out);
  // out[i] = alpha * in[i].
  void (*scale)(std::int64_t n, float alpha, const float* in, float* out);
  // y[i] += alpha * x[i].
  void (*axpy)(std::int64_t n, float alpha, const float* x, float* y);
};

namespace avx512 {
// Defined in elementwise_avx512.cpp; call only when core::cpu_features().has_avx512().
const ElementwiseLoops& elementwise_loops();
}  // namespace avx512

}  // namespace sieve::kernels::cpu
