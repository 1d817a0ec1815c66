// Private to attention_causal*.cpp: the flash-attention algorithm, written once over a small
// vector-traits struct `Vec` and compiled once per instruction set.
//
// NOTE [one copy per ISA]: this file deliberately has no include guard. An ISA file defines the
// macro SIEVE_ATTENTION_ISA (a namespace name) and, inside
// sieve::kernels::cpu::SIEVE_ATTENTION_ISA, a struct Vec; then it includes this file once.
// Every function and type below therefore lives in that ISA's own namespace, so the linker can
// never merge the AVX-512 copy of a helper into the AVX2 or portable path. Keep it that way:
// no std:: algorithm or container instantiated on a type from outside this namespace (their
// weak symbols would be shared between ISA files).
//
// Vec provides: Reg; kWidth (f32 lanes); kTileRows (rows of a register tile); kBlockVectors
// (vectors across a block, so a block spans kBlockVectors*kWidth lanes); zero, set1, load,
// store (unaligned), add, sub, mul, max, fmadd(a, b, c) = a*b + c; exp2 (fast, ~3e-7 relative,
// input clamped to [-126, 126]); fill_below(x, n, fill): lanes < n become fill;
// fill_above(x, n, fill): lanes > n become fill (n may be anything, <= 0 and >= kWidth too);
// load_first(p, n) / store_first(p, x, n): only the first n lanes (0 < n <= kWidth) of memory
// are touched, the others read as 0.
//
// Letters: B batch, T query tokens, S key tokens, H query heads, Hkv kv heads, G = H/Hkv query
// heads per kv head, D head dim, L lanes of a block (kBlockVectors*kWidth, or kWidth).
//
// NOTE [layout]: both matrix products of the forward are arranged so the vector lanes run
// over *queries*. A work item owns L queries of one (batch, head); it packs them once,
// transposed (Qt [D][L]), and then reads K and V rows in place, since a K/V row is contiguous
// in D: scores come out transposed, St[key][query] = sum_d K[key][d] * Qt[d][query], and
// Ot[d][query] += sum_key V[key][d] * Pt[key][query]. Because the lanes are queries, the
// softmax over keys is element-wise max/add down the rows of St: no horizontal reductions,
// no packing per key block. The dQ pass of the backward uses the same layout; the dK/dV pass
// mirrors it with lanes over *keys* (Kt, Vt packed once per key block, Q and dO rows read in
// place). So nearly everything is two register-tiled products, dot_rows and accumulate_rows,
// where D is only a loop length, never a vector width; the one exception is dQ in the
// per-kv-head backward (add_rows_over_dim, lanes over D with a masked tail).
//
// A bf16 variant would widen rows to f32 where they are read (pack_transposed, and the A
// operand of dot_rows / accumulate_rows) and keep all of the arithmetic below in f32.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <vector>

#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/attention_causal.h"

#ifndef SIEVE_ATTENTION_ISA
#error "define SIEVE_ATTENTION_ISA (and Vec in that namespace) before including this file"
#endif

namespace sieve::kernels::cpu::SIEVE_ATTENTION_ISA {

using std::int64_t;
using Reg = Vec::Reg;
constexpr int kWidth = Vec::kWidth;
constexpr int kTileRows = Vec::kTileRows;
constexpr int kBlockVectors = Vec::kBlockVectors;
// Keys per step of the forward and dQ passes: rows of St. Queries per step of the dK/dV
// pass: rows of P and dS. 64 keeps the score tiles in L1 next to the packed block.
constexpr int64_t kKeyStep = 64;
constexpr int64_t kQueryStep = 64;
// Blocks per work item: up to this many query blocks (forward, dQ) or key blocks (dK/dV)
// share each step's rows of the other side, which are then read from L3 once per group
// instead of once per block (see forward_item). 4 blocks of scratch still sit in L2.
constexpr int kGroupBlocks = 4;
constexpr float kLog2e = 1.44269504088896340736f;
constexpr float kLn2 = 0.69314718055994530942f;

// Shape and strides, derived once from CausalAttentionShape (validated by the dispatcher).
struct Geometry {
  explicit Geometry(const CausalAttentionShape& s)
      : batch(s.batch),
        queries(s.query_tokens),
        keys(s.key_tokens),
        heads(s.heads),
        kv_heads(s.kv_heads),
        dim(s.head_dim),
        group(s.heads / s.kv_heads),
        offset(s.query_offset),
        q_row(s.heads * s.head_dim),
        kv_row(s.kv_heads * s.head_dim),
        kv_batch(s.kv_batch_stride != 0 ? s.kv_batch_stride
                                        : s.key_tokens * s.kv_heads * s.head_dim),
        scale(s.scale) {}

  // Keys [0, key_end) are visible to at least one of the queries [q0, q0 + nq).
  int64_t key_end(int64_t q0, int64_t nq) const { return std::min(keys, q0 + nq + offset); }
  // The first query that sees key k.
  int64_t first_query(int64_t k) const { return std::max<int64_t>(0, k - offset); }

  int64_t batch, queries, keys, heads, kv_heads, dim, group, offset;
  int64_t q_row;     // H*D: elements between tokens in q, out, dq, dout
  int64_t kv_row;    // Hkv*D: elements between tokens in k, v, dk, dv
  int64_t kv_batch;  // elements between batches in k, v (dk, dv are contiguous: S*Hkv*D)
  float scale;
};

// 64-byte aligned float scratch, owned by one call.
class ScratchBuffer {
 public:
  explicit ScratchBuffer(std::size_t floats) {
    const std::size_t bytes = std::max<std::size_t>(64, (floats * sizeof(float) + 63) / 64 * 64);
    data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (data_ == nullptr) throw std::bad_alloc();
  }
  ~ScratchBuffer() { std::free(data_); }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  float* data() const { return data_; }

 private:
  float* data_ = nullptr;
};

// Calls fn(index, scratch) for every index in [0, count), each thread pulling the next index
// from a shared counter and owning `scratch_floats` floats of scratch. Callers number items
// heaviest first: pulling greedily (longest-processing-time first) then leaves every thread
// finishing at about the same time, whatever the causal triangle or other load on the machine
// does, which a static split of the causal work cannot promise.
template <typename Fn>
void run_items(int64_t count, std::size_t scratch_floats, const Fn& fn) {
  if (count <= 0) return;
  const int64_t threads = std::min<int64_t>(core::num_threads(), count);
  const std::size_t stride = (scratch_floats + 15) / 16 * 16;
  ScratchBuffer scratch(stride * static_cast<std::size_t>(threads));  // allocated before the
                                                                      // parallel region can throw
  std::atomic<int64_t> next{0};
  core::parallel_for(threads, 1, [&](int64_t slot, int64_t) {
    float* mine = scratch.data() + static_cast<std::size_t>(slot) * stride;
    for (int64_t i = next.fetch_add(1, std::memory_order_relaxed); i < count;
         i = next.fetch_add(1, std::memory_order_relaxed)) {
      fn(i, mine);
    }
  });
}

// Blocks per work item for `blocks` blocks in each of `lanes` (batch, head) pairs: as many as
// kGroupBlocks while that still leaves about four items per thread to balance with.
inline int64_t group_size(int64_t blocks, int64_t lanes) {
  const int64_t wanted = blocks * lanes / (4 * static_cast<int64_t>(core::num_threads()));
  return std::clamp<int64_t>(wanted, 1, kGroupBlocks);
}

// dst[d][i] = src[i*ld + d] * factor for i < rows, 0 for rows <= i < L.
//   src: [rows, D] with row stride ld  ->  dst: [D][L]
template <int64_t L>
void pack_transposed(const float* src, int64_t ld, int64_t rows, int64_t dim, float factor,
                     float* dst) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = src + i * ld;
    for (int64_t d = 0; d < dim; ++d) dst[d * L + i] = row[d] * factor;
  }
  for (int64_t d = 0; d < dim; ++d) {
    for (int64_t i = rows; i < L; ++i) dst[d * L + i] = 0.0f;
  }
}

// Asks for rows [0, rows) of a strided [rows, D] matrix to be on their way to L2 before the
// next step reads them. Rows H*D floats apart defeat the hardware prefetcher (a 4 KiB page
// holds only a couple of them), and without this every step waits on L3 for its K/V rows.
inline void prefetch_rows(const float* src, int64_t ld, int64_t rows, int64_t dim) {
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t d = 0; d < dim; d += 16) __builtin_prefetch(src + i * ld + d, 0, 2);
  }
}

// dst[i][0:D] = src[i*ld + 0:D] for i < rows: a block of K, V, Q or dO rows made contiguous.
// A product re-reads its `a` rows once per tile of outputs, and rows H*D or Hkv*D floats
// apart alias in L1 (a 2 KiB stride puts 64 rows in a few sets) and fall out of it.
inline void copy_rows(const float* src, int64_t ld, int64_t rows, int64_t dim, float* dst) {
  for (int64_t i = 0; i < rows; ++i) {
    std::memcpy(dst + i * dim, src + i * ld, sizeof(float) * static_cast<std::size_t>(dim));
  }
}

// dst[i*ld + d] = src[d][i] * factor[i] for i < rows.   src: [D][L] -> dst: [rows, D] strided
template <int64_t L>
void unpack_transposed(const float* src, int64_t rows, int64_t dim, const float* factor,
                       float* dst, int64_t ld) {
  for (int64_t i = 0; i < rows; ++i) {
    float* row = dst + i * ld;
    const float f = factor[i];
    for (int64_t d = 0; d < dim; ++d) row[d] = src[d * L + i] * f;
  }
}

// ---- Register-tiled products ---------------------------------------------------------------

// c[r][lanes] (+)= sum_{x < depth} a[r*lda + x] * b[x*ldb + lanes]   for r < R, where lanes
// are NV vectors; with kMaskLast only the first `last` lanes of the last vector are read or
// written (so a row of D floats can be the lanes, whatever D is).
template <int R, int NV, bool kAccumulate, bool kMaskLast>
inline void product_tile(const float* a, int64_t lda, const float* b, int64_t ldb,
                         int64_t depth, float* c, int64_t ldc, int last) {
  auto load_lanes = [last](const float* p, int v) {
    if constexpr (kMaskLast) {
      if (v == NV - 1) return Vec::load_first(p, last);
    }
    return Vec::load(p);
  };
  Reg acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      acc[r][v] = kAccumulate ? load_lanes(c + r * ldc + v * kWidth, v) : Vec::zero();
    }
  }
  for (int64_t x = 0; x < depth; ++x) {
    Reg bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = load_lanes(b + x * ldb + v * kWidth, v);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const Reg ax = Vec::set1(a[r * lda + x]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = Vec::fmadd(ax, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      if (kMaskLast && v == NV - 1) {
        Vec::store_first(c + r * ldc + v * kWidth, acc[r][v], last);
      } else {
        Vec::store(c + r * ldc + v * kWidth, acc[r][v]);
      }
    }
  }
}

template <int R, int NV, bool kAccumulate, bool kMaskLast>
void product_tail(int64_t rows, const float* a, int64_t lda, const float* b, int64_t ldb,
                  int64_t depth, float* c, int64_t ldc, int last) {
  if constexpr (R > 0) {
    if (rows == R) {
      product_tile<R, NV, kAccumulate, kMaskLast>(a, lda, b, ldb, depth, c, ldc, last);
    } else {
      product_tail<R - 1, NV, kAccumulate, kMaskLast>(rows, a, lda, b, ldb, depth, c, ldc, last);
    }
  }
}

// c[r][lanes] (+)= sum_{x < depth} a[r*lda + x] * b[x*ldb + lanes]   for r < rows.
//   a: [rows, depth] strided; b: [depth, lanes] strided; c: [rows, lanes] strided
template <int NV, bool kAccumulate, bool kMaskLast>
void product_rows(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t depth,
                  int64_t rows, float* c, int64_t ldc, int last) {
  int64_t r = 0;
  for (; r + kTileRows <= rows; r += kTileRows) {
    product_tile<kTileRows, NV, kAccumulate, kMaskLast>(a + r * lda, lda, b, ldb, depth,
                                                        c + r * ldc, ldc, last);
  }
  if (r < rows) {
    product_tail<kTileRows - 1, NV, kAccumulate, kMaskLast>(rows - r, a + r * lda, lda, b, ldb,
                                                            depth, c + r * ldc, ldc, last);
  }
}

// c[r][0:L] = sum_{d < depth} a[r*lda + d] * b[d][0:L]   for r < rows.
//   a: [rows, depth] strided rows (K, V, Q or dO read in place); b: [depth][L]; c: [rows][L]
template <int NV>
void dot_rows(const float* a, int64_t lda, const float* b, int64_t depth, int64_t rows,
              float* c) {
  constexpr int64_t L = NV * kWidth;
  product_rows<NV, false, false>(a, lda, b, L, depth, rows, c, L, kWidth);
}

template <int NV, bool kMaskLast>
void add_rows_chunk(int nv, const float* a, int64_t lda, const float* b, int64_t ldb,
                    int64_t depth, int64_t rows, float* c, int64_t ldc, int last) {
  if constexpr (NV > 0) {
    if (nv == NV) {
      product_rows<NV, true, kMaskLast>(a, lda, b, ldb, depth, rows, c, ldc, last);
    } else {
      add_rows_chunk<NV - 1, kMaskLast>(nv, a, lda, b, ldb, depth, rows, c, ldc, last);
    }
  }
}

// c[r][0:dim] += sum_{x < depth} a[r*lda + x] * b[x*ldb + 0:dim]   for r < rows: the one
// product whose lanes run over D (dQ in the per-kv-head backward), in chunks of
// kBlockVectors vectors and a tail chunk whose last vector is masked if D % kWidth != 0.
inline void add_rows_over_dim(const float* a, int64_t lda, const float* b, int64_t ldb,
                              int64_t depth, int64_t rows, float* c, int64_t ldc, int64_t dim) {
  constexpr int64_t kChunk = kBlockVectors * kWidth;
  int64_t d0 = 0;
  for (; d0 + kChunk <= dim; d0 += kChunk) {
    product_rows<kBlockVectors, true, false>(a, lda, b + d0, ldb, depth, rows, c + d0, ldc,
                                             kWidth);
  }
  if (d0 == dim) return;
  const int64_t rest = dim - d0;
  const int nv = static_cast<int>((rest + kWidth - 1) / kWidth);
  const int last = static_cast<int>(rest - (nv - 1) * kWidth);
  if (last == kWidth) {
    add_rows_chunk<kBlockVectors, false>(nv, a, lda, b + d0, ldb, depth, rows, c + d0, ldc,
                                         last);
  } else {
    add_rows_chunk<kBlockVectors, true>(nv, a, lda, b + d0, ldb, depth, rows, c + d0, ldc,
                                        last);
  }
}

// c[r][0:L] = c[r][0:L] * alpha[0:L] (if kRescale) + sum_{k < depth} a[k*lda + r] * b[k][0:L]
// for r < R.
template <int R, int NV, bool kRescale>
inline void accumulate_tile(const float* a, int64_t lda, const float* b, int64_t depth, float* c,
                            const float* alpha) {
  constexpr int64_t L = NV * kWidth;
  Reg acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      acc[r][v] = Vec::load(c + r * L + v * kWidth);
      if constexpr (kRescale) acc[r][v] = Vec::mul(acc[r][v], Vec::load(alpha + v * kWidth));
    }
  }
  for (int64_t k = 0; k < depth; ++k) {
    Reg bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = Vec::load(b + k * L + v * kWidth);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const Reg x = Vec::set1(a[k * lda + r]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = Vec::fmadd(x, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) Vec::store(c + r * L + v * kWidth, acc[r][v]);
  }
}

template <int R, int NV, bool kRescale>
void accumulate_tail(int64_t rows, const float* a, int64_t lda, const float* b, int64_t depth,
                     float* c, const float* alpha) {
  if constexpr (R > 0) {
    if (rows == R) {
      accumulate_tile<R, NV, kRescale>(a, lda, b, depth, c, alpha);
    } else {
      accumulate_tail<R - 1, NV, kRescale>(rows, a, lda, b, depth, c, alpha);
    }
  }
}

// c[r][0:L] = c[r][0:L] * alpha (if kRescale) + sum_{k < depth} a[k*lda + r] * b[k][0:L]
// for r < rows, i.e. c += aᵀ b with a read in place.
//   a: [depth, rows] strided rows (V, K, Q or dO); b: [depth][L]; c: [rows][L]
template <int NV, bool kRescale>
void accumulate_rows(const float* a, int64_t lda, const float* b, int64_t depth, int64_t rows,
                     float* c, const float* alpha) {
  constexpr int64_t L = NV * kWidth;
  int64_t r = 0;
  for (; r + kTileRows <= rows; r += kTileRows) {
    accumulate_tile<kTileRows, NV, kRescale>(a + r, lda, b, depth, c + r * L, alpha);
  }
  if (r < rows) {
    accumulate_tail<kTileRows - 1, NV, kRescale>(rows - r, a + r, lda, b, depth, c + r * L,
                                                 alpha);
  }
}

// ---- Forward -------------------------------------------------------------------------------

template <int NV>
constexpr std::size_t forward_scratch_floats(int64_t dim) {
  constexpr int64_t L = NV * kWidth;
  return static_cast<std::size_t>(kKeyStep * L + L + 2 * kKeyStep * dim +
                                  kGroupBlocks * (2 * dim * L + 2 * L));
}

// One online-softmax step over a key block, in place on st [nk][L] (scores in log2 units):
//   m' = max(m, max_j s_j);  alpha = 2^(m - m');  p_j = 2^(s_j - m');  l = l*alpha + sum_j p_j
// Key row j is hidden from the lanes i < j + shift (causal mask); those p are exactly 0.
template <int NV>
void online_softmax_step(float* st, int64_t nk, int64_t shift, Reg* m, Reg* l, float* alpha) {
  constexpr int64_t L = NV * kWidth;
  const Reg neg_inf = Vec::set1(-std::numeric_limits<float>::infinity());
  const Reg zero = Vec::zero();
  Reg m_new[NV];
  for (int v = 0; v < NV; ++v) m_new[v] = m[v];
  for (int64_t j = 0; j < nk; ++j) {
    const float* row = st + j * L;
    const int64_t hidden = j + shift;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      Reg x = Vec::load(row + v * kWidth);
      if (hidden > v * kWidth) x = Vec::fill_below(x, hidden - v * kWidth, neg_inf);
      m_new[v] = Vec::max(m_new[v], x);
    }
  }
  Reg sum[NV];
  for (int v = 0; v < NV; ++v) {
    Vec::store(alpha + v * kWidth, Vec::exp2(Vec::sub(m[v], m_new[v])));
    sum[v] = zero;
  }
  for (int64_t j = 0; j < nk; ++j) {
    float* row = st + j * L;
    const int64_t hidden = j + shift;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      Reg p = Vec::exp2(Vec::sub(Vec::load(row + v * kWidth), m_new[v]));
      if (hidden > v * kWidth) p = Vec::fill_below(p, hidden - v * kWidth, zero);
      Vec::store(row + v * kWidth, p);
      sum[v] = Vec::add(sum[v], p);
    }
  }
  for (int v = 0; v < NV; ++v) {
    l[v] = Vec::fmadd(l[v], Vec::load(alpha + v * kWidth), sum[v]);
    m[v] = m_new[v];
  }
}

// Work item: query blocks [first, first + count) (L queries each) of head h in batch b, lanes
// over queries (NOTE [layout]). The blocks share each step's K and V rows, copied once into
// contiguous scratch while they are in cache: every block would otherwise stream the head's
// K and V from L3 by itself, and that traffic, not the FMAs, bounds a lone 64-query block.
template <int NV>
void forward_item(const Geometry& g, const float* q, const float* k, const float* v, float* out,
                  float* lse, int64_t b, int64_t h, int64_t first, int64_t count,
                  float* scratch) {
  constexpr int64_t L = NV * kWidth;
  const int64_t D = g.dim;
  const int64_t hk = h / g.group;
  float* st = scratch;                    // [kKeyStep][L]  scores (log2 units) -> probabilities
  float* alpha = st + kKeyStep * L;       // [L]  rescale of the running sums for this step
  float* k_block = alpha + L;             // [kKeyStep][D]  this step's K rows, contiguous
  float* v_block = k_block + kKeyStep * D;  // [kKeyStep][D]  this step's V rows, contiguous
  float* blocks = v_block + kKeyStep * D;   // per block: qt [D][L], ot [D][L], m [L], l [L]
  const int64_t per_block = 2 * D * L + 2 * L;

  Reg m[kGroupBlocks][NV], l[kGroupBlocks][NV];  // running max (log2 units) and sum
  int64_t q0[kGroupBlocks], nq[kGroupBlocks], key_end[kGroupBlocks];
  int64_t all_keys = 0;
  for (int64_t s = 0; s < count; ++s) {
    float* qt = blocks + s * per_block;  // queries, transposed, times scale*log2(e)
    float* ot = qt + D * L;              // unnormalised output, transposed
    q0[s] = (first + s) * L;
    nq[s] = std::min(L, g.queries - q0[s]);
    key_end[s] = g.key_end(q0[s], nq[s]);  // keys past it are masked for the whole block
    all_keys = std::max(all_keys, key_end[s]);
    pack_transposed<L>(q + (b * g.queries + q0[s]) * g.q_row + h * D, g.q_row, nq[s], D,
                       g.scale * kLog2e, qt);
    std::memset(ot, 0, sizeof(float) * static_cast<std::size_t>(D * L));
    for (int i = 0; i < NV; ++i) {
      m[s][i] = Vec::set1(-std::numeric_limits<float>::infinity());
      l[s][i] = Vec::zero();
    }
  }
  const float* k_head = k + b * g.kv_batch + hk * D;  // [S, D] rows, stride Hkv*D
  const float* v_head = v + b * g.kv_batch + hk * D;

  // Key 0 is visible to every query (query_offset >= 0), so m is finite after the first step.
  for (int64_t k0 = 0; k0 < all_keys; k0 += kKeyStep) {
    const int64_t nk = std::min(kKeyStep, all_keys - k0);
    if (k0 + nk < all_keys) {
      const int64_t next = std::min(kKeyStep, all_keys - k0 - nk);
      prefetch_rows(k_head + (k0 + nk) * g.kv_row, g.kv_row, next, D);
      prefetch_rows(v_head + (k0 + nk) * g.kv_row, g.kv_row, next, D);
    }
    copy_rows(k_head + k0 * g.kv_row, g.kv_row, nk, D, k_block);
    copy_rows(v_head + k0 * g.kv_row, g.kv_row, nk, D, v_block);
    for (int64_t s = 0; s < count; ++s) {
      if (k0 >= key_end[s]) continue;
      const int64_t n = std::min(nk, key_end[s] - k0);
      float* qt = blocks + s * per_block;
      float* ot = qt + D * L;
      dot_rows<NV>(k_block, D, qt, D, n, st);  // St [n][L] = K Qt
      online_softmax_step<NV>(st, n, k0 - q0[s] - g.offset, m[s], l[s], alpha);
      accumulate_rows<NV, true>(v_block, D, st, n, D, ot, alpha);  // Ot = Ot*alpha + Vᵀ Pt
    }
  }

  for (int64_t s = 0; s < count; ++s) {
    float* ot = blocks + s * per_block + D * L;
    float* m_out = ot + D * L;
    float* l_out = m_out + L;
    for (int i = 0; i < NV; ++i) {
      Vec::store(m_out + i * kWidth, m[s][i]);
      Vec::store(l_out + i * kWidth, l[s][i]);
    }
    if (lse != nullptr) {
      float* lse_row = lse + (b * g.heads + h) * g.queries + q0[s];  // [B, H, T]
      for (int64_t i = 0; i < nq[s]; ++i) lse_row[i] = (m_out[i] + std::log2(l_out[i])) * kLn2;
    }
    for (int64_t i = 0; i < nq[s]; ++i) l_out[i] = 1.0f / l_out[i];
    unpack_transposed<L>(ot, nq[s], D, l_out, out + (b * g.queries + q0[s]) * g.q_row + h * D,
                         g.q_row);
  }
}

template <int NV>
void forward_impl(const Geometry& g, const float* q, const float* k, const float* v, float* out,
                  float* lse) {
  constexpr int64_t L = NV * kWidth;
  const int64_t blocks = (g.queries + L - 1) / L;
  const int64_t per_item = group_size(blocks, g.batch * g.heads);
  const int64_t groups = (blocks + per_item - 1) / per_item;
  const int64_t per_group = g.batch * g.heads;
  // Item index -> (block group, descending; batch; head): later blocks see more keys.
  run_items(groups * per_group, forward_scratch_floats<NV>(g.dim),
            [&](int64_t index, float* scratch) {
              const int64_t group = groups - 1 - index / per_group;
              const int64_t b = (index % per_group) / g.heads;
              const int64_t h = index % g.heads;
              const int64_t first = group * per_item;
              forward_item<NV>(g, q, k, v, out, lse, b, h, first,
                               std::min(per_item, blocks - first), scratch);
            });
}

void forward_f32(const CausalAttentionShape& shape, const float* q, const float* k,
                 const float* v, float* out, float* lse) {
  const Geometry g(shape);
  // Few queries (decode): one vector of query lanes wastes less than a full block.
  if (g.queries <= kWidth) {
    forward_impl<1>(g, q, k, v, out, lse);
  } else {
    forward_impl<kBlockVectors>(g, q, k, v, out, lse);
  }
}

// ---- Backward (FlashAttention-2 by recomputation) ------------------------------------------
//
// With P = softmax(scale * Q Kᵀ) recomputed from lse, and Di = rowsum(dO ∘ O):
//   dV = Pᵀ dO,  dP = dO Vᵀ,  dS = P ∘ (dP - Di),  dQ = scale * dS K,  dK = scale * dSᵀ Q.
// NOTE [backward schedule]: every output element has exactly one writer, so there are no
// atomics and no per-thread copies of dQ (whose memory, threads x B*T*H*D, and reduction
// would grow with the core count). Two schedules:
//   * per kv head: an item owns everything of one (batch, kv head): dK, dV of its keys and dQ
//     of its G query heads. Per pair of blocks it does FlashAttention-2's 5 block products
//     (S, dP, dV, dK, dQ). But there are only B*Hkv items, all equally heavy.
//   * split passes: key items (b, kv head, key block) own dK, dV and loop over every query
//     that sees the block; query items (b, head, query block) own dQ and loop over visible
//     keys. S and dP are computed by both, so 7 block products instead of 5, but the items are
//     many and balance on any number of threads.
// `automatic` takes the per-kv-head schedule unless idle threads would cost more than the two
// extra products: ceil(B*Hkv / threads) * 5 > 7 * B*Hkv / threads.

template <int NV>
constexpr std::size_t query_grad_scratch_floats(int64_t dim) {
  constexpr int64_t L = NV * kWidth;
  return static_cast<std::size_t>(2 * kKeyStep * L + 2 * kKeyStep * dim + L +
                                  kGroupBlocks * (3 * dim * L + 2 * L));
}

template <int NV>
constexpr std::size_t key_grad_scratch_floats(int64_t dim) {
  constexpr int64_t L = NV * kWidth;
  return static_cast<std::size_t>(2 * kQueryStep * L + 2 * kQueryStep * dim + L +
                                  kGroupBlocks * 5 * dim * L);
}

// Query item of the split schedule: dq for query blocks [first, first + count) of head h in
// batch b (lanes over queries), sharing each step's K/V rows like forward_item.
template <int NV>
void query_grads(const Geometry& g, const float* q, const float* k, const float* v,
                 const float* lse, const float* di, const float* dout, float* dq, int64_t b,
                 int64_t h, int64_t first, int64_t count, float* scratch) {
  constexpr int64_t L = NV * kWidth;
  const int64_t D = g.dim;
  const int64_t hk = h / g.group;
  float* st = scratch;                      // [kKeyStep][L]  scores -> P -> dS
  float* dpt = st + kKeyStep * L;           // [kKeyStep][L]  dP
  float* k_block = dpt + kKeyStep * L;      // [kKeyStep][D]  this step's K rows, contiguous
  float* v_block = k_block + kKeyStep * D;  // [kKeyStep][D]  this step's V rows, contiguous
  float* factor = v_block + kKeyStep * D;   // [L]  unpack factor: scale
  float* blocks = factor + L;  // per block: qt, dot, dqt [D][L]; lse2, di [L]
  const int64_t per_block = 3 * D * L + 2 * L;

  int64_t q0[kGroupBlocks], nq[kGroupBlocks], key_end[kGroupBlocks];
  int64_t all_keys = 0;
  for (int64_t s = 0; s < count; ++s) {
    float* qt = blocks + s * per_block;  // queries, transposed, times scale*log2(e)
    float* dot = qt + D * L;             // dO, transposed
    float* dqt = dot + D * L;            // dQ / scale, transposed
    float* lse2 = dqt + D * L;           // lse in log2 units
    float* dib = lse2 + L;               // Di
    q0[s] = (first + s) * L;
    nq[s] = std::min(L, g.queries - q0[s]);
    key_end[s] = g.key_end(q0[s], nq[s]);
    all_keys = std::max(all_keys, key_end[s]);
    const int64_t row0 = (b * g.queries + q0[s]) * g.q_row + h * D;
    pack_transposed<L>(q + row0, g.q_row, nq[s], D, g.scale * kLog2e, qt);
    pack_transposed<L>(dout + row0, g.q_row, nq[s], D, 1.0f, dot);
    std::memset(dqt, 0, sizeof(float) * static_cast<std::size_t>(D * L));
    const int64_t stat0 = (b * g.heads + h) * g.queries + q0[s];  // [B, H, T]
    for (int64_t i = 0; i < L; ++i) {
      lse2[i] = i < nq[s] ? lse[stat0 + i] * kLog2e : 0.0f;
      dib[i] = i < nq[s] ? di[stat0 + i] : 0.0f;
    }
  }
  for (int64_t i = 0; i < L; ++i) factor[i] = g.scale;
  const float* k_head = k + b * g.kv_batch + hk * D;
  const float* v_head = v + b * g.kv_batch + hk * D;
  const Reg zero = Vec::zero();

  for (int64_t k0 = 0; k0 < all_keys; k0 += kKeyStep) {
    const int64_t nk = std::min(kKeyStep, all_keys - k0);
    if (k0 + nk < all_keys) {
      const int64_t next = std::min(kKeyStep, all_keys - k0 - nk);
      prefetch_rows(k_head + (k0 + nk) * g.kv_row, g.kv_row, next, D);
      prefetch_rows(v_head + (k0 + nk) * g.kv_row, g.kv_row, next, D);
    }
    copy_rows(k_head + k0 * g.kv_row, g.kv_row, nk, D, k_block);
    copy_rows(v_head + k0 * g.kv_row, g.kv_row, nk, D, v_block);
    for (int64_t s = 0; s < count; ++s) {
      if (k0 >= key_end[s]) continue;
      const int64_t n = std::min(nk, key_end[s] - k0);
      float* qt = blocks + s * per_block;
      float* dot = qt + D * L;
      float* dqt = dot + D * L;
      const float* lse2 = dqt + D * L;
      const float* dib = lse2 + L;
      dot_rows<NV>(k_block, D, qt, D, n, st);    // St [n][L] = K Qt
      dot_rows<NV>(v_block, D, dot, D, n, dpt);  // dPt [n][L] = V dOt
      const int64_t shift = k0 - q0[s] - g.offset;  // key row j is hidden from lanes < j + shift
      for (int64_t j = 0; j < n; ++j) {
        float* s_row = st + j * L;
        const float* dp_row = dpt + j * L;
        const int64_t hidden = j + shift;
#pragma GCC unroll 8
        for (int i = 0; i < NV; ++i) {
          Reg p = Vec::exp2(
              Vec::sub(Vec::load(s_row + i * kWidth), Vec::load(lse2 + i * kWidth)));
          if (hidden > i * kWidth) p = Vec::fill_below(p, hidden - i * kWidth, zero);
          const Reg ds = Vec::mul(p, Vec::sub(Vec::load(dp_row + i * kWidth),
                                              Vec::load(dib + i * kWidth)));
          Vec::store(s_row + i * kWidth, ds);
        }
      }
      accumulate_rows<NV, false>(k_block, D, st, n, D, dqt, nullptr);  // dQt += Kᵀ dSt
    }
  }
  for (int64_t s = 0; s < count; ++s) {
    const float* dqt = blocks + s * per_block + 2 * D * L;
    unpack_transposed<L>(dqt, nq[s], D, factor, dq + (b * g.queries + q0[s]) * g.q_row + h * D,
                         g.q_row);
  }
}

// dk, dv for key blocks [first, first + count) (L keys each) of kv head hk in batch b, lanes
// over keys: the key item of the split schedule. The blocks share each step's Q and dO rows.
// With dq non-null it also adds dS K (without the scale) into dq for every query it visits,
// which is the per-kv-head schedule's work.
template <int NV>
void key_grads(const Geometry& g, const float* q, const float* k, const float* v,
               const float* lse, const float* di, const float* dout, float* dk, float* dv,
               float* dq, int64_t b, int64_t hk, int64_t first, int64_t count, float* scratch) {
  constexpr int64_t L = NV * kWidth;
  const int64_t D = g.dim;
  float* p = scratch;                           // [kQueryStep][L]  scores -> P
  float* ds = p + kQueryStep * L;               // [kQueryStep][L]  dP -> dS
  float* q_block = ds + kQueryStep * L;         // [kQueryStep][D]  this step's Q rows
  float* do_block = q_block + kQueryStep * D;   // [kQueryStep][D]  this step's dO rows
  float* factor = do_block + kQueryStep * D;    // [L]  unpack factor
  float* blocks = factor + L;  // per block: kt, vt, dkt, dvt [D][L]; k_rows [L][D]
  const int64_t per_block = 5 * D * L;

  int64_t k0[kGroupBlocks], nk[kGroupBlocks];
  for (int64_t s = 0; s < count; ++s) {
    float* kt = blocks + s * per_block;  // keys, transposed, times scale*log2(e)
    float* vt = kt + D * L;              // values, transposed
    float* dkt = vt + D * L;             // dK / scale, transposed
    float* k_rows = dkt + 2 * D * L;     // keys, as rows (for dQ)
    k0[s] = (first + s) * L;
    nk[s] = std::min(L, g.keys - k0[s]);
    const int64_t kv0 = b * g.kv_batch + k0[s] * g.kv_row + hk * D;
    pack_transposed<L>(k + kv0, g.kv_row, nk[s], D, g.scale * kLog2e, kt);
    pack_transposed<L>(v + kv0, g.kv_row, nk[s], D, 1.0f, vt);
    std::memset(dkt, 0, sizeof(float) * static_cast<std::size_t>(2 * D * L));  // dkt and dvt
    if (dq != nullptr) copy_rows(k + kv0, g.kv_row, nk[s], D, k_rows);
  }
  const Reg zero = Vec::zero();

  const int64_t q_begin = g.first_query(k0[0]);
  for (int64_t h = hk * g.group; h < (hk + 1) * g.group; ++h) {
    const float* lse_head = lse + (b * g.heads + h) * g.queries;  // [T]
    const float* di_head = di + (b * g.heads + h) * g.queries;
    for (int64_t q0 = q_begin; q0 < g.queries; q0 += kQueryStep) {
      const int64_t nq = std::min(kQueryStep, g.queries - q0);
      const int64_t row0 = (b * g.queries + q0) * g.q_row + h * D;
      if (q0 + nq < g.queries) {
        const int64_t next = std::min(kQueryStep, g.queries - q0 - nq);
        prefetch_rows(q + row0 + nq * g.q_row, g.q_row, next, D);
        prefetch_rows(dout + row0 + nq * g.q_row, g.q_row, next, D);
      }
      copy_rows(q + row0, g.q_row, nq, D, q_block);
      copy_rows(dout + row0, g.q_row, nq, D, do_block);
      for (int64_t s = 0; s < count; ++s) {
        // Rows before i0 are queries that cannot see any key of this block.
        const int64_t i0 = std::max<int64_t>(0, k0[s] - g.offset - q0);
        if (i0 >= nq) continue;
        const int64_t rows = nq - i0;
        float* kt = blocks + s * per_block;
        float* vt = kt + D * L;
        float* dkt = vt + D * L;
        float* dvt = dkt + D * L;
        const float* k_rows = dvt + D * L;
        const float* q_rows = q_block + i0 * D;    // [rows, D]
        const float* do_rows = do_block + i0 * D;  // [rows, D]
        dot_rows<NV>(q_rows, D, kt, D, rows, p);    // S [rows][L] = Q Kt
        dot_rows<NV>(do_rows, D, vt, D, rows, ds);  // dP [rows][L] = dO Vt
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t t = q0 + i0 + r;
          // Lanes past `last` are keys this query cannot see (or padding past the keys).
          const int64_t last = std::min(t + g.offset - k0[s], nk[s] - 1);
          const Reg lse_t = Vec::set1(lse_head[t] * kLog2e);
          const Reg di_t = Vec::set1(di_head[t]);
          float* p_row = p + r * L;
          float* ds_row = ds + r * L;
#pragma GCC unroll 8
          for (int j = 0; j < NV; ++j) {
            Reg pj = Vec::exp2(Vec::sub(Vec::load(p_row + j * kWidth), lse_t));
            if (last < (j + 1) * kWidth - 1) pj = Vec::fill_above(pj, last - j * kWidth, zero);
            Vec::store(p_row + j * kWidth, pj);
            Vec::store(ds_row + j * kWidth,
                       Vec::mul(pj, Vec::sub(Vec::load(ds_row + j * kWidth), di_t)));
          }
        }
        accumulate_rows<NV, false>(do_rows, D, p, rows, D, dvt, nullptr);  // dVt += dOᵀ P
        accumulate_rows<NV, false>(q_rows, D, ds, rows, D, dkt, nullptr);  // dKt += Qᵀ dS
        if (dq != nullptr) {
          // dQ [rows, D] += dS [rows][nk] K [nk, D]
          add_rows_over_dim(ds, L, k_rows, D, nk[s], rows, dq + row0 + i0 * g.q_row, g.q_row, D);
        }
      }
    }
  }
  for (int64_t s = 0; s < count; ++s) {
    const float* dkt = blocks + s * per_block + 2 * D * L;
    const float* dvt = dkt + D * L;
    const int64_t out0 = (b * g.keys + k0[s]) * g.kv_row + hk * D;  // dk, dv: contiguous
    for (int64_t j = 0; j < L; ++j) factor[j] = 1.0f;
    unpack_transposed<L>(dvt, nk[s], D, factor, dv + out0, g.kv_row);
    for (int64_t j = 0; j < L; ++j) factor[j] = g.scale;
    unpack_transposed<L>(dkt, nk[s], D, factor, dk + out0, g.kv_row);
  }
}

// Item of the per-kv-head schedule: all gradients that touch kv head hk of batch b.
template <int NV>
void kv_head_grads(const Geometry& g, const float* q, const float* k, const float* v,
                   const float* lse, const float* di, const float* dout, float* dq, float* dk,
                   float* dv, int64_t b, int64_t hk, float* scratch) {
  constexpr int64_t L = NV * kWidth;
  const int64_t span = g.group * g.dim;  // the G heads of the group are adjacent in a row
  float* dq_rows = dq + b * g.queries * g.q_row + hk * span;
  for (int64_t t = 0; t < g.queries; ++t) {
    std::memset(dq_rows + t * g.q_row, 0, sizeof(float) * static_cast<std::size_t>(span));
  }
  const int64_t blocks = (g.keys + L - 1) / L;
  for (int64_t first = 0; first < blocks; first += kGroupBlocks) {
    key_grads<NV>(g, q, k, v, lse, di, dout, dk, dv, dq, b, hk, first,
                  std::min<int64_t>(kGroupBlocks, blocks - first), scratch);
  }
  for (int64_t t = 0; t < g.queries; ++t) {
    float* row = dq_rows + t * g.q_row;
    for (int64_t d = 0; d < span; ++d) row[d] *= g.scale;
  }
}

struct BackwardItem {
  double cost;    // estimated multiply-adds, for heaviest-first ordering
  bool key_item;  // true: (b, kv head, key blocks); false: (b, head, query blocks)
  int64_t b, head, first, count;
};

// The split schedule's items, heaviest first.
template <int NV>
std::vector<BackwardItem> split_items(const Geometry& g) {
  constexpr int64_t L = NV * kWidth;
  const double LD = static_cast<double>(L * g.dim);
  const int64_t key_blocks = (g.keys + L - 1) / L;
  const int64_t query_blocks = (g.queries + L - 1) / L;
  const int64_t keys_per_item = group_size(key_blocks, g.batch * g.kv_heads);
  const int64_t queries_per_item = group_size(query_blocks, g.batch * g.heads);
  std::vector<BackwardItem> items;
  for (int64_t b = 0; b < g.batch; ++b) {
    for (int64_t first = 0; first < key_blocks; first += keys_per_item) {
      const int64_t count = std::min(keys_per_item, key_blocks - first);
      const int64_t seen = g.queries - std::min(g.queries, g.first_query(first * L));
      const double cost = 4.0 * LD * static_cast<double>(count * g.group * seen);
      for (int64_t hk = 0; hk < g.kv_heads; ++hk) items.push_back({cost, true, b, hk, first, count});
    }
    for (int64_t first = 0; first < query_blocks; first += queries_per_item) {
      const int64_t count = std::min(queries_per_item, query_blocks - first);
      const int64_t q_last = std::min(g.queries, (first + count) * L);
      const double cost = 3.0 * LD * static_cast<double>(count * g.key_end(q_last - 1, 1));
      for (int64_t h = 0; h < g.heads; ++h) items.push_back({cost, false, b, h, first, count});
    }
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const BackwardItem& x, const BackwardItem& y) { return x.cost > y.cost; });
  return items;
}

void backward_f32(const CausalAttentionShape& shape, AttentionBackwardSchedule schedule,
                  const float* q, const float* k, const float* v, const float* out,
                  const float* lse, const float* dout, float* dq, float* dk, float* dv) {
  constexpr int NV = kBlockVectors;
  const Geometry g(shape);
  const int64_t D = g.dim;

  // Di = rowsum(dO ∘ O): [B, H, T]
  ScratchBuffer di(static_cast<std::size_t>(g.batch * g.heads * g.queries));
  core::parallel_for(g.batch * g.queries, 64, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / g.queries;
      const int64_t t = row % g.queries;
      for (int64_t h = 0; h < g.heads; ++h) {
        const float* o_row = out + row * g.q_row + h * D;
        const float* do_row = dout + row * g.q_row + h * D;
        float sum = 0.0f;
        for (int64_t d = 0; d < D; ++d) sum += o_row[d] * do_row[d];
        di.data()[(b * g.heads + h) * g.queries + t] = sum;
      }
    }
  });

  if (schedule == AttentionBackwardSchedule::automatic) {
    const int64_t items = g.batch * g.kv_heads;
    const int64_t threads = core::num_threads();
    const bool per_head = 5 * ((items + threads - 1) / threads) * threads <= 7 * items;
    schedule = per_head ? AttentionBackwardSchedule::per_kv_head
                        : AttentionBackwardSchedule::split_passes;
  }
  if (schedule == AttentionBackwardSchedule::per_kv_head) {
    run_items(g.batch * g.kv_heads, key_grad_scratch_floats<NV>(D),
              [&](int64_t index, float* s) {
                kv_head_grads<NV>(g, q, k, v, lse, di.data(), dout, dq, dk, dv,
                                  index / g.kv_heads, index % g.kv_heads, s);
              });
    return;
  }
  const std::vector<BackwardItem> items = split_items<NV>(g);
  const std::size_t scratch =
      std::max(query_grad_scratch_floats<NV>(D), key_grad_scratch_floats<NV>(D));
  run_items(static_cast<int64_t>(items.size()), scratch, [&](int64_t index, float* s) {
    const BackwardItem& item = items[static_cast<std::size_t>(index)];
    if (item.key_item) {
      key_grads<NV>(g, q, k, v, lse, di.data(), dout, dk, dv, nullptr, item.b, item.head,
                    item.first, item.count, s);
    } else {
      query_grads<NV>(g, q, k, v, lse, di.data(), dout, dq, item.b, item.head, item.first,
                      item.count, s);
    }
  });
}

}  // namespace sieve::kernels::cpu::SIEVE_ATTENTION_ISA
