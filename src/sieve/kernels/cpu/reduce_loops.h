// Leaf loops of the reductions, one table per instruction set. Each entry runs on one thread
// over one range; reduce.cpp does the checks, the splitting and the combining of partial sums.
// Declarations only (no inline code), so per-ISA files may include it.
#pragma once

#include <cstdint>

namespace sieve::kernels::cpu {

struct ReduceLoops {
  // sum of x[i] (of x[i]^2) over [0, n), accumulated in double.
  double (*sum)(std::int64_t n, const float* x);
  double (*sum_squares)(std::int64_t n, const float* x);
  // acc[c] += x[r * ld + c] for r in [0, rows), c in [0, cols).
  void (*add_rows)(std::int64_t rows, std::int64_t cols, const float* x, std::int64_t ld, double* acc);
  // max of x[i] over [0, n), n >= 1; NaN if any x[i] is NaN.
  float (*max)(std::int64_t n, const float* x);
};

namespace avx512 {
// Defined in reduce_avx512.cpp; call only when core::cpu_features().has_avx512().
const ReduceLoops& reduce_loops();
}  // namespace avx512

}  // namespace sieve::kernels::cpu
