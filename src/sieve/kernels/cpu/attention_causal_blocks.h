// Private to attention_causal*.cpp: the building blocks of the flash-attention kernel
// (geometry, work scheduling, data movement, register-tiled products), written once over a
// small vector-traits struct `Vec`. Included by attention_causal_impl.h, which has the rules
// (NOTE [one copy per ISA]); like it, this file has no include guard on purpose.
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

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

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
        scale(s.scale),
        causal(s.causal),
        key_lengths(s.key_lengths) {}

  // Keys of batch b that any query may see: [0, key_limit(b)).
  int64_t key_limit(int64_t b) const { return key_lengths != nullptr ? key_lengths[b] : keys; }
  // Keys [0, key_end) of batch b are visible to at least one of the queries [q0, q0 + nq).
  int64_t key_end(int64_t b, int64_t q0, int64_t nq) const {
    return causal ? std::min(key_limit(b), q0 + nq + offset) : key_limit(b);
  }
  // The first query of batch b that sees key k (`queries` if none does).
  int64_t first_query(int64_t b, int64_t k) const {
    if (k >= key_limit(b)) return queries;
    return causal ? std::max<int64_t>(0, k - offset) : 0;
  }
  // The last key query t of batch b sees.
  int64_t last_key(int64_t b, int64_t t) const {
    return (causal ? std::min(key_limit(b), t + offset + 1) : key_limit(b)) - 1;
  }
  // Within [0, key_end), key k0 + j is hidden from query q0 + i iff i < j + mask_shift(k0, q0)
  // (the causal triangle); bidirectionally nothing is, and the shift is too negative to matter.
  int64_t mask_shift(int64_t k0, int64_t q0) const {
    return causal ? k0 - q0 - offset : -(int64_t{1} << 40);
  }

  int64_t batch, queries, keys, heads, kv_heads, dim, group, offset;
  int64_t q_row;     // H*D: elements between tokens in q, out, dq, dout
  int64_t kv_row;    // Hkv*D: elements between tokens in k, v, dk, dv
  int64_t kv_batch;  // elements between batches in k, v (dk, dv are contiguous: S*Hkv*D)
  float scale;
  bool causal;
  const int64_t* key_lengths;  // [B] or null; masks by truncating each batch's key range
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
// next step reads them. Rows H*D floats apart get little help from the hardware prefetcher
// (a 4 KiB page holds only a couple of them); this is worth a few percent in the forward.
inline void prefetch_rows(const float* src, int64_t ld, int64_t rows, int64_t dim) {
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t d = 0; d < dim; d += 16) __builtin_prefetch(src + i * ld + d, 0, 2);
  }
}

// dst[i][0:D] = src[i*ld + 0:D] for i < rows: a step's K, V, Q or dO rows made contiguous,
// once for all the blocks of a work item. accumulate_rows re-reads its `a` rows once per tile
// of outputs, and rows H*D floats apart alias in L1 (a 2 KiB stride maps 64 rows to a few
// sets), so they would come from L2 every time.
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
  auto load_lanes = [&](const float* p, int v) {
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

}  // namespace sieve::kernels::cpu::SIEVE_ATTENTION_ISA
