#include "sieve/kernels/cpu/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/reduce_loops.h"

// Shape letters: R rows, C columns (x is [R, C]).

namespace sieve::kernels::cpu {
namespace {

using core::DType;

// Elements per partial sum. Fixed, so the way a sum is cut (and so its rounding) does not
// depend on how many threads run it.
constexpr std::int64_t kChunk = 1 << 15;
// sum_rows: columns per task (a block's double accumulators stay in L1), and at most this
// many row bands, each summed into its own partial row before the bands are combined.
constexpr std::int64_t kColumnBlock = 512;
constexpr std::int64_t kMaxBands = 16;
constexpr std::int64_t kMinBandRows = 64;

void check_f32(DType dtype, const char* what) {
  SIEVE_CHECK(dtype == DType::f32, "{}: dtype {} is not supported (f32 only)", what, core::dtype_name(dtype));
}

// ---- portable leaf loops -------------------------------------------------------------------

// Eight independent accumulators, like the vector loop's lanes, so the compiler can vectorise
// without reassociating a single running sum.
template <bool kSquare>
double portable_sum_loop(std::int64_t n, const float* x) {
  double acc[8] = {};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) {
      const double v = x[i + k];
      acc[k] += kSquare ? v * v : v;
    }
  for (; i < n; ++i) {
    const double v = x[i];
    acc[0] += kSquare ? v * v : v;
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

double portable_sum(std::int64_t n, const float* x) { return portable_sum_loop<false>(n, x); }
double portable_sum_squares(std::int64_t n, const float* x) { return portable_sum_loop<true>(n, x); }

void portable_add_rows(std::int64_t rows, std::int64_t cols, const float* x, std::int64_t ld, double* acc) {
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) acc[c] += x[r * ld + c];
}

float portable_max(std::int64_t n, const float* x) {
  float best = x[0];
  bool nan = false;
  for (std::int64_t i = 0; i < n; ++i) {
    nan = nan || x[i] != x[i];
    best = x[i] > best ? x[i] : best;
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : best;
}

constexpr ReduceLoops kPortableLoops{portable_sum, portable_sum_squares, portable_add_rows, portable_max};

const ReduceLoops& loops() {
  static const ReduceLoops& selected = core::cpu_features().has_avx512() ? avx512::reduce_loops() : kPortableLoops;
  return selected;
}

// Sums fixed chunks in parallel, then adds the partial sums in chunk order.
double chunked_sum(std::int64_t n, const float* x, double (*leaf)(std::int64_t, const float*)) {
  if (n <= kChunk) return leaf(n, x);
  const std::int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<std::size_t>(chunks));
  core::parallel_for(chunks, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t c = begin; c < end; ++c) partial[c] = leaf(std::min(kChunk, n - c * kChunk), x + c * kChunk);
  });
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

void check_matrix(const char* what, DType dtype, std::int64_t rows, std::int64_t cols) {
  check_f32(dtype, what);
  SIEVE_CHECK(rows >= 0 && cols >= 0, "{}: negative shape [{}, {}]", what, rows, cols);
}

}  // namespace

double sum(DType dtype, std::int64_t n, const void* x) {
  check_f32(dtype, "sum");
  SIEVE_CHECK(n >= 0, "sum: negative element count {}", n);
  return chunked_sum(n, static_cast<const float*>(x), loops().sum);
}

double sum_squares(DType dtype, std::int64_t n, const void* x) {
  check_f32(dtype, "sum_squares");
  SIEVE_CHECK(n >= 0, "sum_squares: negative element count {}", n);
  return chunked_sum(n, static_cast<const float*>(x), loops().sum_squares);
}

void sum_rows(DType dtype, std::int64_t rows, std::int64_t cols, const void* x, float* out, bool accumulate) {
  check_matrix("sum_rows", dtype, rows, cols);
  if (cols == 0) return;
  const auto* xf = static_cast<const float*>(x);
  // x [R, C] is cut into bands of rows × blocks of columns; each task adds its band's rows
  // into partial[band] [C]. The bands are then combined in order, per column.
  const std::int64_t band_rows = std::max(kMinBandRows, (rows + kMaxBands - 1) / kMaxBands);
  const std::int64_t bands = (rows + band_rows - 1) / band_rows;
  const std::int64_t blocks = (cols + kColumnBlock - 1) / kColumnBlock;
  std::vector<double> partial(static_cast<std::size_t>(bands * cols), 0.0);
  const std::int64_t task_elements = band_rows * std::min(cols, kColumnBlock);
  core::parallel_for(bands * blocks, std::max<std::int64_t>(1, kChunk / task_elements),
                     [&](std::int64_t begin, std::int64_t end) {
                       for (std::int64_t task = begin; task < end; ++task) {
                         const std::int64_t band = task / blocks, block = task % blocks;
                         const std::int64_t r0 = band * band_rows, r1 = std::min(rows, r0 + band_rows);
                         const std::int64_t c0 = block * kColumnBlock, c1 = std::min(cols, c0 + kColumnBlock);
                         loops().add_rows(r1 - r0, c1 - c0, xf + r0 * cols + c0, cols, partial.data() + band * cols + c0);
                       }
                     });
  core::parallel_for(cols, std::max<std::int64_t>(1, kChunk / std::max<std::int64_t>(1, bands)),
                     [&](std::int64_t begin, std::int64_t end) {
                       for (std::int64_t c = begin; c < end; ++c) {
                         double total = accumulate ? out[c] : 0.0;
                         for (std::int64_t band = 0; band < bands; ++band) total += partial[band * cols + c];
                         out[c] = static_cast<float>(total);
                       }
                     });
}

void sum_last_dim(DType dtype, std::int64_t rows, std::int64_t cols, const void* x, float* out) {
  check_matrix("sum_last_dim", dtype, rows, cols);
  const auto* xf = static_cast<const float*>(x);
  if (rows == 1) {
    out[0] = static_cast<float>(chunked_sum(cols, xf, loops().sum));
    return;
  }
  core::parallel_for(rows, std::max<std::int64_t>(1, kChunk / std::max<std::int64_t>(1, cols)),
                     [&](std::int64_t begin, std::int64_t end) {
                       for (std::int64_t r = begin; r < end; ++r)
                         out[r] = static_cast<float>(loops().sum(cols, xf + r * cols));
                     });
}

void max_last_dim(DType dtype, std::int64_t rows, std::int64_t cols, const void* x, float* out) {
  check_matrix("max_last_dim", dtype, rows, cols);
  if (rows == 0) return;
  SIEVE_CHECK(cols >= 1, "max_last_dim: a row of [{}, 0] has no maximum", rows);
  const auto* xf = static_cast<const float*>(x);
  core::parallel_for(rows, std::max<std::int64_t>(1, kChunk / cols), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) out[r] = loops().max(cols, xf + r * cols);
  });
}

}  // namespace sieve::kernels::cpu
