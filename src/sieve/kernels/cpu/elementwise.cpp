#include "sieve/kernels/cpu/elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/convert.h"
#include "sieve/kernels/cpu/elementwise_loops.h"

// This file holds the portable leaf loops (used when the CPU lacks AVX-512, and for the
// transcendental ops), the dispatch, the threading, and the stride walking shared by
// binary_strided and copy_strided.

namespace sieve::kernels::cpu {
namespace {

using core::DType;

// Elements per task for memory-bound loops: a chunk must dwarf the fork/join cost.
constexpr std::int64_t kGrain = 1 << 15;
// exp/log/tanh/sigmoid cost tens of cycles per element, so smaller chunks already pay.
constexpr std::int64_t kTranscendentalGrain = 1 << 12;

void check_f32(DType dtype, const char* what) {
  SIEVE_CHECK(dtype == DType::f32, "{}: dtype {} is not supported (f32 only)", what, core::dtype_name(dtype));
}

// ---- portable leaf loops -------------------------------------------------------------------

template <BinaryOp op>
float apply(float a, float b) {
  if constexpr (op == BinaryOp::add) return a + b;
  if constexpr (op == BinaryOp::sub) return a - b;
  if constexpr (op == BinaryOp::mul) return a * b;
  if constexpr (op == BinaryOp::div) return a / b;
  // NaN in either operand propagates (a + b is then NaN).
  if constexpr (op == BinaryOp::max) return (a != a || b != b) ? a + b : (a > b ? a : b);
  if constexpr (op == BinaryOp::min) return (a != a || b != b) ? a + b : (a < b ? a : b);
}

template <typename F>
void with_binary_op(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::add: return f.template operator()<BinaryOp::add>();
    case BinaryOp::sub: return f.template operator()<BinaryOp::sub>();
    case BinaryOp::mul: return f.template operator()<BinaryOp::mul>();
    case BinaryOp::div: return f.template operator()<BinaryOp::div>();
    case BinaryOp::max: return f.template operator()<BinaryOp::max>();
    case BinaryOp::min: return f.template operator()<BinaryOp::min>();
  }
  SIEVE_CHECK(false, "elementwise: unknown binary op {}", static_cast<int>(op));
}

// Steps are compile-time constants so the compiler can vectorise each combination.
template <BinaryOp op, int a_step, int b_step>
void binary_loop(std::int64_t n, const float* a, const float* b, float* out) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = apply<op>(a[i * a_step], b[i * b_step]);
}

void portable_binary(BinaryOp op, std::int64_t n, const float* a, int a_step, const float* b, int b_step,
                     float* out) {
  with_binary_op(op, [&]<BinaryOp kOp>() {
    if (a_step == 1 && b_step == 1) return binary_loop<kOp, 1, 1>(n, a, b, out);
    if (a_step == 1) return binary_loop<kOp, 1, 0>(n, a, b, out);
    if (b_step == 1) return binary_loop<kOp, 0, 1>(n, a, b, out);
    binary_loop<kOp, 0, 0>(n, a, b, out);
  });
}

template <UnaryOp op>
float apply(float x) {
  if constexpr (op == UnaryOp::neg) return -x;
  if constexpr (op == UnaryOp::exp) return std::exp(x);
  if constexpr (op == UnaryOp::log) return std::log(x);
  if constexpr (op == UnaryOp::sqrt) return std::sqrt(x);
  if constexpr (op == UnaryOp::rsqrt) return 1.0f / std::sqrt(x);
  if constexpr (op == UnaryOp::abs) return std::fabs(x);
  if constexpr (op == UnaryOp::tanh) return std::tanh(x);
  // exp(-x) overflowing to inf for very negative x correctly gives 0.
  if constexpr (op == UnaryOp::sigmoid) return 1.0f / (1.0f + std::exp(-x));
  if constexpr (op == UnaryOp::square) return x * x;
  if constexpr (op == UnaryOp::reciprocal) return 1.0f / x;
}

template <UnaryOp op>
void unary_loop(std::int64_t n, const float* in, float* out) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = apply<op>(in[i]);
}

bool portable_unary(UnaryOp op, std::int64_t n, const float* in, float* out) {
  switch (op) {
    case UnaryOp::neg: unary_loop<UnaryOp::neg>(n, in, out); break;
    case UnaryOp::exp: unary_loop<UnaryOp::exp>(n, in, out); break;
    case UnaryOp::log: unary_loop<UnaryOp::log>(n, in, out); break;
    case UnaryOp::sqrt: unary_loop<UnaryOp::sqrt>(n, in, out); break;
    case UnaryOp::rsqrt: unary_loop<UnaryOp::rsqrt>(n, in, out); break;
    case UnaryOp::abs: unary_loop<UnaryOp::abs>(n, in, out); break;
    case UnaryOp::tanh: unary_loop<UnaryOp::tanh>(n, in, out); break;
    case UnaryOp::sigmoid: unary_loop<UnaryOp::sigmoid>(n, in, out); break;
    case UnaryOp::square: unary_loop<UnaryOp::square>(n, in, out); break;
    case UnaryOp::reciprocal: unary_loop<UnaryOp::reciprocal>(n, in, out); break;
    default: SIEVE_CHECK(false, "unary: unknown op {}", static_cast<int>(op));
  }
  return true;
}

void portable_scale(std::int64_t n, float alpha, const float* in, float* out) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = alpha * in[i];
}

void portable_axpy(std::int64_t n, float alpha, const float* x, float* y) {
  for (std::int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

constexpr ElementwiseLoops kPortableLoops{portable_binary, portable_unary, portable_scale, portable_axpy};

const ElementwiseLoops& loops() {
  static const ElementwiseLoops& selected =
      core::cpu_features().has_avx512() ? avx512::elementwise_loops() : kPortableLoops;
  return selected;
}

// ---- strided iteration ---------------------------------------------------------------------

// A strided iteration space with size-1 dimensions dropped and neighbouring dimensions merged
// wherever they are contiguous with each other in every operand. The destination is always
// contiguous, so it never blocks a merge. Fewer, longer dimensions mean longer inner loops.
template <int kOperands>
struct Layout {
  int rank = 0;
  std::int64_t numel = 1;
  std::int64_t shape[kMaxStridedRank] = {};
  std::int64_t strides[kOperands][kMaxStridedRank] = {};

  std::int64_t inner() const { return shape[rank - 1]; }
  std::int64_t inner_stride(int operand) const { return strides[operand][rank - 1]; }
};

template <int kOperands>
Layout<kOperands> collapse(const char* what, int rank, const std::int64_t* shape,
                           std::initializer_list<const std::int64_t*> operand_strides) {
  SIEVE_CHECK(rank >= 0 && rank <= kMaxStridedRank, "{}: rank {} is outside [0, {}]", what, rank, kMaxStridedRank);
  Layout<kOperands> layout;
  for (int d = 0; d < rank; ++d) {
    SIEVE_CHECK(shape[d] >= 0, "{}: negative size {} in dimension {}", what, shape[d], d);
    layout.numel *= shape[d];
    if (shape[d] == 1) continue;
    bool merges = layout.rank > 0;
    int op = 0;
    for (const std::int64_t* strides : operand_strides) {
      merges = merges && layout.strides[op][layout.rank - 1] == strides[d] * shape[d];
      ++op;
    }
    if (merges) {
      layout.shape[layout.rank - 1] *= shape[d];
    } else {
      layout.shape[layout.rank++] = shape[d];
    }
    op = 0;
    for (const std::int64_t* strides : operand_strides) layout.strides[op++][layout.rank - 1] = strides[d];
  }
  return layout;
}

// Offsets of each operand at successive rows (all dimensions but the last), advanced like an
// odometer so walking rows costs no divisions.
template <int kOperands>
struct RowCursor {
  const Layout<kOperands>& layout;
  std::int64_t index[kMaxStridedRank] = {};
  std::int64_t offset[kOperands] = {};

  RowCursor(const Layout<kOperands>& l, std::int64_t row) : layout(l) {
    for (int d = layout.rank - 2; d >= 0; --d) {
      index[d] = row % layout.shape[d];
      row /= layout.shape[d];
      for (int op = 0; op < kOperands; ++op) offset[op] += index[d] * layout.strides[op][d];
    }
  }

  void next() {
    for (int d = layout.rank - 2; d >= 0; --d) {
      for (int op = 0; op < kOperands; ++op) offset[op] += layout.strides[op][d];
      if (++index[d] < layout.shape[d]) return;
      for (int op = 0; op < kOperands; ++op) offset[op] -= index[d] * layout.strides[op][d];
      index[d] = 0;
    }
  }
};

// Runs body(cursor, row, begin, end) over every row of the layout, cut into pieces
// [begin, end) of the innermost dimension, so one long row is split across threads as well
// as many short rows.
template <int kOperands, typename Body>
void for_each_row_piece(const Layout<kOperands>& layout, Body&& body) {
  const std::int64_t inner = layout.inner();
  const std::int64_t rows = layout.numel / inner;
  const std::int64_t pieces = std::max<std::int64_t>(1, inner / kGrain);
  const std::int64_t piece = (inner + pieces - 1) / pieces;
  core::parallel_for(rows * pieces, std::max<std::int64_t>(1, kGrain / piece), [&](std::int64_t first, std::int64_t last) {
    RowCursor<kOperands> cursor(layout, first / pieces);
    for (std::int64_t item = first; item < last; ++item) {
      if (item != first && item % pieces == 0) cursor.next();
      const std::int64_t begin = (item % pieces) * piece;
      body(cursor, item / pieces, begin, std::min(inner, begin + piece));
    }
  });
}

template <BinaryOp op>
void binary_gather_loop(std::int64_t n, const float* a, std::int64_t a_stride, const float* b,
                        std::int64_t b_stride, float* out) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = apply<op>(a[i * a_stride], b[i * b_stride]);
}

// ---- copy_strided ------------------------------------------------------------------------

// Tile edge for the transposed copy: a tile's source lines stay in L1 while its rows are written.
constexpr std::int64_t kTransposeTile = 32;

template <typename T>
void copy_rows(const Layout<1>& layout, const T* src, T* dst) {
  const std::int64_t inner = layout.inner(), stride = layout.inner_stride(0);
  for_each_row_piece(layout, [&](const RowCursor<1>& cursor, std::int64_t row, std::int64_t begin, std::int64_t end) {
    const T* s = src + cursor.offset[0] + begin * stride;
    T* d = dst + row * inner + begin;
    if (stride == 1) {
      std::memcpy(d, s, static_cast<std::size_t>(end - begin) * sizeof(T));
    } else {
      for (std::int64_t i = 0; i < end - begin; ++i) d[i] = s[i * stride];
    }
  });
}

// The last two dimensions [R, C] are transposed in the source (the R stride is 1): reading
// rows of dst means reading columns of src, so copy in tiles that fit in L1.
template <typename T>
void copy_transposed(const Layout<1>& layout, const T* src, T* dst) {
  const int r = layout.rank;
  const std::int64_t rows = layout.shape[r - 2], cols = layout.shape[r - 1];
  const std::int64_t col_stride = layout.strides[0][r - 1];
  const std::int64_t row_tiles = (rows + kTransposeTile - 1) / kTransposeTile;
  const std::int64_t matrices = layout.numel / (rows * cols);
  const std::int64_t grain = std::max<std::int64_t>(1, kGrain / (kTransposeTile * cols));
  core::parallel_for(matrices * row_tiles, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t item = begin; item < end; ++item) {
      // Offset of this matrix from the dimensions in front of the last two.
      std::int64_t matrix = item / row_tiles, offset = 0;
      for (int d = r - 3; d >= 0; --d) {
        offset += (matrix % layout.shape[d]) * layout.strides[0][d];
        matrix /= layout.shape[d];
      }
      const T* s = src + offset;
      T* d = dst + (item / row_tiles) * rows * cols;
      const std::int64_t r0 = (item % row_tiles) * kTransposeTile;
      const std::int64_t r1 = std::min(rows, r0 + kTransposeTile);
      for (std::int64_t c0 = 0; c0 < cols; c0 += kTransposeTile) {
        const std::int64_t c1 = std::min(cols, c0 + kTransposeTile);
        for (std::int64_t i = r0; i < r1; ++i)
          for (std::int64_t j = c0; j < c1; ++j) d[i * cols + j] = s[i + j * col_stride];
      }
    }
  });
}

template <typename T>
void copy_strided_typed(const Layout<1>& layout, const T* src, T* dst) {
  if (layout.rank == 0) {
    dst[0] = src[0];
    return;
  }
  if (layout.inner_stride(0) != 1 && layout.rank >= 2 && layout.strides[0][layout.rank - 2] == 1) {
    copy_transposed(layout, src, dst);
    return;
  }
  copy_rows(layout, src, dst);
}

}  // namespace

// ---- public entry points -------------------------------------------------------------------

void binary(BinaryOp op, DType dtype, std::int64_t n, const void* a, const void* b, void* out) {
  check_f32(dtype, "binary");
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  auto* z = static_cast<float*>(out);
  core::parallel_for(n, kGrain, [&](std::int64_t begin, std::int64_t end) {
    loops().binary(op, end - begin, x + begin, 1, y + begin, 1, z + begin);
  });
}

void binary_strided(BinaryOp op, DType dtype, int rank, const std::int64_t* out_shape, const std::int64_t* a_strides,
                    const std::int64_t* b_strides, const void* a, const void* b, void* out) {
  check_f32(dtype, "binary_strided");
  const Layout<2> layout = collapse<2>("binary_strided", rank, out_shape, {a_strides, b_strides});
  if (layout.numel == 0) return;
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  auto* z = static_cast<float*>(out);
  if (layout.rank == 0) {
    loops().binary(op, 1, x, 1, y, 1, z);
    return;
  }
  const std::int64_t inner = layout.inner();
  const std::int64_t a_step = layout.inner_stride(0), b_step = layout.inner_stride(1);
  const bool unit_steps = (a_step == 0 || a_step == 1) && (b_step == 0 || b_step == 1);
  for_each_row_piece(layout, [&](const RowCursor<2>& cursor, std::int64_t row, std::int64_t begin, std::int64_t end) {
    const float* ar = x + cursor.offset[0] + begin * a_step;
    const float* br = y + cursor.offset[1] + begin * b_step;
    float* zr = z + row * inner + begin;
    if (unit_steps) {
      loops().binary(op, end - begin, ar, static_cast<int>(a_step), br, static_cast<int>(b_step), zr);
    } else {
      with_binary_op(op, [&]<BinaryOp kOp>() { binary_gather_loop<kOp>(end - begin, ar, a_step, br, b_step, zr); });
    }
  });
}

void unary(UnaryOp op, DType dtype, std::int64_t n, const void* in, void* out) {
  check_f32(dtype, "unary");
  const auto* x = static_cast<const float*>(in);
  auto* y = static_cast<float*>(out);
  const bool transcendental =
      op == UnaryOp::exp || op == UnaryOp::log || op == UnaryOp::tanh || op == UnaryOp::sigmoid;
  core::parallel_for(n, transcendental ? kTranscendentalGrain : kGrain, [&](std::int64_t begin, std::int64_t end) {
    if (!loops().unary(op, end - begin, x + begin, y + begin)) portable_unary(op, end - begin, x + begin, y + begin);
  });
}

void scale(DType dtype, std::int64_t n, float alpha, const void* in, void* out) {
  check_f32(dtype, "scale");
  const auto* x = static_cast<const float*>(in);
  auto* y = static_cast<float*>(out);
  core::parallel_for(n, kGrain, [&](std::int64_t begin, std::int64_t end) {
    loops().scale(end - begin, alpha, x + begin, y + begin);
  });
}

void axpy(DType dtype, std::int64_t n, float alpha, const void* x, void* y) {
  check_f32(dtype, "axpy");
  const auto* xs = static_cast<const float*>(x);
  auto* ys = static_cast<float*>(y);
  core::parallel_for(n, kGrain, [&](std::int64_t begin, std::int64_t end) {
    loops().axpy(end - begin, alpha, xs + begin, ys + begin);
  });
}

void fill(DType dtype, std::int64_t n, float value, void* out) {
  // One element converted with the same rounding as convert(), then replicated.
  std::uint64_t pattern = 0;
  convert(DType::f32, dtype, 1, &value, &pattern);
  const std::size_t size = core::dtype_size(dtype);
  core::parallel_for(n, kGrain, [&](std::int64_t begin, std::int64_t end) {
    auto run = [&]<typename T>(T*) {
      T bits;
      std::memcpy(&bits, &pattern, sizeof(T));
      std::fill(static_cast<T*>(out) + begin, static_cast<T*>(out) + end, bits);
    };
    switch (size) {
      case 1: return run(static_cast<std::uint8_t*>(nullptr));
      case 2: return run(static_cast<std::uint16_t*>(nullptr));
      case 4: return run(static_cast<std::uint32_t*>(nullptr));
      case 8: return run(static_cast<std::uint64_t*>(nullptr));
      default: SIEVE_CHECK(false, "fill: unexpected element size {}", size);
    }
  });
}

void copy_strided(DType dtype, int rank, const std::int64_t* shape, const std::int64_t* src_strides, const void* src,
                  void* dst) {
  const Layout<1> layout = collapse<1>("copy_strided", rank, shape, {src_strides});
  if (layout.numel == 0) return;
  switch (core::dtype_size(dtype)) {
    case 1: return copy_strided_typed(layout, static_cast<const std::uint8_t*>(src), static_cast<std::uint8_t*>(dst));
    case 2: return copy_strided_typed(layout, static_cast<const std::uint16_t*>(src), static_cast<std::uint16_t*>(dst));
    case 4: return copy_strided_typed(layout, static_cast<const std::uint32_t*>(src), static_cast<std::uint32_t*>(dst));
    case 8: return copy_strided_typed(layout, static_cast<const std::uint64_t*>(src), static_cast<std::uint64_t*>(dst));
    default: SIEVE_CHECK(false, "copy_strided: unexpected element size {}", core::dtype_size(dtype));
  }
}

}  // namespace sieve::kernels::cpu
