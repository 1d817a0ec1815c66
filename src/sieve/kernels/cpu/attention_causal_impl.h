// Private to attention_causal*.cpp: the flash-attention algorithm (forward and backward),
// written once over a small vector-traits struct `Vec` (see attention_causal_blocks.h) and
// compiled once per instruction set.
//
// NOTE [one copy per ISA]: this file and attention_causal_blocks.h deliberately have no
// include guard. An ISA file defines the macro SIEVE_ATTENTION_ISA (a namespace name) and,
// inside sieve::kernels::cpu::SIEVE_ATTENTION_ISA, a struct Vec; then it includes this file
// once. Every function and type of both files therefore lives in that ISA's own namespace, so
// the linker can never merge the AVX-512 copy of a helper into the AVX2 or portable path.
// Keep it that way: no std:: algorithm or container instantiated on a type from outside this
// namespace (their weak symbols would be shared between ISA files), and scalar math through
// builtins rather than std:: wrappers; std::min/max/clamp on integers, which compile to
// scalar code, are the only exception.
//
// Letters: B batch, T query tokens, S key tokens, H query heads, Hkv kv heads, G = H/Hkv query
// heads per kv head, D head dim, L lanes of a block (kBlockVectors*kWidth, or kWidth).
//
// NOTE [layout]: both matrix products of the forward are arranged so the vector lanes run
// over *queries*. A work item owns up to kGroupBlocks blocks of L queries of one (batch,
// head); it packs them once, transposed (Qt [D][L]); per step of kKeyStep keys it copies the
// K and V rows (each contiguous in D) into scratch once for all its blocks, and computes
// scores transposed, St[key][query] = sum_d K[key][d] * Qt[d][query], then
// Ot[d][query] += sum_key V[key][d] * Pt[key][query]. Because the lanes are queries, the
// softmax over keys is element-wise max/add down the rows of St: no horizontal reductions,
// no transposing per key block. The dQ pass of the backward uses the same layout; the dK/dV
// pass mirrors it with lanes over *keys* (Kt, Vt packed once per key block, Q and dO rows
// copied per step). So nearly everything is two register-tiled products, dot_rows and
// accumulate_rows, where D is only a loop length, never a vector width; the one exception is
// dQ in the per-kv-head backward (add_rows_over_dim, lanes over D with a masked tail).
//
// A bf16 variant would widen rows to f32 where they are read (pack_transposed, and the A
// operand of dot_rows / accumulate_rows) and keep all of the arithmetic below in f32.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/attention_causal.h"
#include "sieve/kernels/cpu/attention_causal_blocks.h"

namespace sieve::kernels::cpu::SIEVE_ATTENTION_ISA {

// ---- Forward -------------------------------------------------------------------------------

template <int NV>
constexpr std::size_t forward_scratch_floats(int64_t dim) {
  constexpr int64_t L = NV * kWidth;
  return static_cast<std::size_t>(kKeyStep * L + L + 2 * kKeyStep * dim +
                                  kGroupBlocks * (2 * dim * L + 2 * L));
}

// One online-softmax step over a key block, in place on st [nk][L] (scores in log2 units):
//   m' = max(m, max_j s_j);  alpha = 2^(m - m');  p_j = 2^(s_j - m');  l = l*alpha + sum_j p_j
// Key row j is hidden from the lanes i < j + shift (the causal mask, Geometry::mask_shift);
// those p are exactly 0.
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
// contiguous scratch while they are in cache: a lone 64-query block streams the head's K and
// V from L3 by itself, which measured ~15% slower at T=4096, H=8.
// Copies keys/values [k0, k0 + nk) of one head into contiguous blocks (shared by the query
// blocks of a work item) and prefetches the block after it. Forward and backward stream keys
// the same way.
inline void stage_key_block(const Geometry& g, const float* k_head, const float* v_head, int64_t k0, int64_t nk,
                            int64_t all_keys, float* k_block, float* v_block) {
  const int64_t D = g.dim;
  if (k0 + nk < all_keys) {
    const int64_t next = std::min(kKeyStep, all_keys - k0 - nk);
    prefetch_rows(k_head + (k0 + nk) * g.kv_row, g.kv_row, next, D);
    prefetch_rows(v_head + (k0 + nk) * g.kv_row, g.kv_row, next, D);
  }
  copy_rows(k_head + k0 * g.kv_row, g.kv_row, nk, D, k_block);
  copy_rows(v_head + k0 * g.kv_row, g.kv_row, nk, D, v_block);
}

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
    key_end[s] = g.key_end(b, q0[s], nq[s]);  // keys past it are masked for the whole block
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

  // Key 0 is visible to every query (query_offset >= 0, key lengths >= 1), so m is finite
  // after the first step.
  for (int64_t k0 = 0; k0 < all_keys; k0 += kKeyStep) {
    const int64_t nk = std::min(kKeyStep, all_keys - k0);
    stage_key_block(g, k_head, v_head, k0, nk, all_keys, k_block, v_block);
    for (int64_t s = 0; s < count; ++s) {
      if (k0 >= key_end[s]) continue;
      const int64_t n = std::min(nk, key_end[s] - k0);
      float* qt = blocks + s * per_block;
      float* ot = qt + D * L;
      dot_rows<NV>(k_block, D, qt, D, n, st);  // St [n][L] = K Qt
      online_softmax_step<NV>(st, n, g.mask_shift(k0, q0[s]), m[s], l[s], alpha);
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
      for (int64_t i = 0; i < nq[s]; ++i) lse_row[i] = (m_out[i] + __builtin_log2f(l_out[i])) * kLn2;
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
    key_end[s] = g.key_end(b, q0[s], nq[s]);
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
    stage_key_block(g, k_head, v_head, k0, nk, all_keys, k_block, v_block);
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
      const int64_t shift = g.mask_shift(k0, q0[s]);  // key row j is hidden from lanes < j + shift
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

  // nk: keys of the block; valid: those below the key length. Padding keys are never read
  // (whatever they hold), their lanes stay 0, and so do their gradients.
  int64_t k0[kGroupBlocks], nk[kGroupBlocks], valid[kGroupBlocks];
  for (int64_t s = 0; s < count; ++s) {
    float* kt = blocks + s * per_block;  // keys, transposed, times scale*log2(e)
    float* vt = kt + D * L;              // values, transposed
    float* dkt = vt + D * L;             // dK / scale, transposed
    float* k_rows = dkt + 2 * D * L;     // keys, as rows (for dQ)
    k0[s] = (first + s) * L;
    nk[s] = std::min(L, g.keys - k0[s]);
    valid[s] = std::clamp<int64_t>(g.key_limit(b) - k0[s], 0, nk[s]);
    const int64_t kv0 = b * g.kv_batch + k0[s] * g.kv_row + hk * D;
    pack_transposed<L>(k + kv0, g.kv_row, valid[s], D, g.scale * kLog2e, kt);
    pack_transposed<L>(v + kv0, g.kv_row, valid[s], D, 1.0f, vt);
    std::memset(dkt, 0, sizeof(float) * static_cast<std::size_t>(2 * D * L));  // dkt and dvt
    if (dq != nullptr) copy_rows(k + kv0, g.kv_row, valid[s], D, k_rows);
  }
  const Reg zero = Vec::zero();

  const int64_t q_begin = g.first_query(b, k0[0]);  // `queries` if the keys are padding
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
        const int64_t i0 = std::max<int64_t>(0, g.first_query(b, k0[s]) - q0);
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
          const int64_t last = std::min(g.last_key(b, t) - k0[s], valid[s] - 1);
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
          add_rows_over_dim(ds, L, k_rows, D, valid[s], rows, dq + row0 + i0 * g.q_row, g.q_row, D);
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
      const int64_t seen = g.queries - std::min(g.queries, g.first_query(b, first * L));
      const double cost = 4.0 * LD * static_cast<double>(count * g.group * seen);
      for (int64_t hk = 0; hk < g.kv_heads; ++hk) items.push_back({cost, true, b, hk, first, count});
    }
    for (int64_t first = 0; first < query_blocks; first += queries_per_item) {
      const int64_t count = std::min(queries_per_item, query_blocks - first);
      const int64_t q_last = std::min(g.queries, (first + count) * L);
      const double cost = 3.0 * LD * static_cast<double>(count * g.key_end(b, q_last - 1, 1));
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
