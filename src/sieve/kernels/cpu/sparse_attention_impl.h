// Private to sparse_attention*.cpp: the dynamic sparse attention algorithm (forward and
// backward), written once over the vector-traits struct `Vec` of attention_causal_blocks.h and
// compiled once per instruction set.
//
// Like attention_causal_impl.h this file has no include guard on purpose (NOTE [one copy per
// ISA] there): an ISA file defines SIEVE_ATTENTION_ISA (its own namespace, e.g. sparse_avx512)
// and a struct Vec in it, includes attention_causal_blocks.h for the register-tiled products,
// then this file. So: no std:: algorithm or container on a type from outside this namespace,
// scalar float math through builtins.
//
// NOTE [sparse tasks]: the work is a list of tasks, each one group of at most L query lanes
// (L = kBlockVectors*kWidth <= 64) of one (batch, head) and one contiguous list of candidate
// keys, scored with the dense kernel's layout (lanes over queries, St [key][query]):
//   pass A  L consecutive queries of one query block β; keys = β's global list followed by the
//           local range (q0 - W, q0 + nq - 1]; the per-pair mask keeps j <= t - W for global keys
//           (plus key_bias) and t - W < j <= t for local ones.
//   pass B  round r, bucket u: L consecutive queries of the bucket's query slice (positions
//           ascending); keys = the slice of the bucket's sorted keys [cut(first) - C, cut(last)),
//           cut(t) = number of bucket keys with position <= t - W; lane t keeps slice indices
//           [cut(t) - C, cut(t)) minus keys of G(t) and keys an earlier round already gave t.
// A query's sets are the disjoint union over its pass A task and its R pass B tasks. Each task
// yields a partial softmax (o, lse) in the forward; the partials are merged exactly. Summed over
// a bucket's groups the key rows are at most (bucket keys + groups·C), so no task list or buffer
// exceeds O(T·(W + G + R·C)) per head.
//
// Letters as in sparse_attention.h; L lanes of a task, S = kKeyStep keys per step.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/sparse_attention.h"

namespace sieve::kernels::cpu::SIEVE_ATTENTION_ISA {

constexpr int64_t kMaxLanes = 64;
constexpr float kNegInf = -__builtin_inff();
// Running maxima start here instead of -inf, so 2^(m - m') never sees inf - inf.
constexpr float kFloor = -1e30f;

// Shape, strides and plan accessors (validated by the dispatcher).
struct SparseGeometry {
  SparseGeometry(const SparseAttentionShape& s, const SparseAttentionPlan& p)
      : B(s.batch), T(s.tokens), H(s.heads), Hkv(s.kv_heads), D(s.head_dim), group(s.heads / s.kv_heads),
        W(s.window), C(s.lsh_keys), R(s.rounds), NBk(s.buckets), G(s.global_cap),
        NB((s.tokens + kSparseQueryBlock - 1) / kSparseQueryBlock), scale(s.scale), plan(p) {}

  const int32_t* globals(int64_t b, int64_t block) const { return plan.global_keys + (b * NB + block) * G; }
  int64_t global_count(int64_t b, int64_t block) const { return G > 0 ? plan.global_count[b * NB + block] : 0; }
  // Per (round, batch, query head) arrays.
  int64_t qhead(int64_t r, int64_t b, int64_t h) const { return (r * B + b) * H + h; }
  const int32_t* query_bucket(int64_t r, int64_t b, int64_t h) const { return plan.query_bucket + qhead(r, b, h) * T; }
  const int32_t* query_order(int64_t r, int64_t b, int64_t h) const { return plan.query_order + qhead(r, b, h) * T; }
  const int32_t* query_start(int64_t r, int64_t b, int64_t h) const {
    return plan.query_bucket_start + qhead(r, b, h) * (NBk + 1);
  }
  // Per (round, batch, kv head) arrays.
  int64_t khead(int64_t r, int64_t b, int64_t g) const { return (r * B + b) * Hkv + g; }
  const int32_t* key_bucket(int64_t r, int64_t b, int64_t g) const { return plan.key_bucket + khead(r, b, g) * T; }
  const int32_t* key_order(int64_t r, int64_t b, int64_t g) const { return plan.key_order + khead(r, b, g) * T; }
  const int32_t* key_rank(int64_t r, int64_t b, int64_t g) const { return plan.key_rank + khead(r, b, g) * T; }
  const int32_t* key_start(int64_t r, int64_t b, int64_t g) const {
    return plan.bucket_start + khead(r, b, g) * (NBk + 1);
  }

  int64_t B, T, H, Hkv, D, group, W, C, R, NBk, G, NB;
  float scale;
  SparseAttentionPlan plan;
};

// Number of entries of sorted[begin, end) that are <= limit (returned as an index in [begin, end]).
inline int64_t count_upto(const int32_t* sorted, int64_t begin, int64_t end, int64_t limit) {
  while (begin < end) {
    const int64_t mid = begin + (end - begin) / 2;
    if (sorted[mid] <= limit) {
      begin = mid + 1;
    } else {
      end = mid;
    }
  }
  return begin;
}

// One task (NOTE [sparse tasks]).
struct SparseTask {
  double cost;     // pairs scored, for heaviest-first ordering
  int64_t b, h;
  int64_t round;   // -1: pass A
  int64_t q0, nq;  // pass A: first query position; pass B: offset into query_order(r, b, h)
  int64_t x0, x1;  // pass B: candidate keys [x0, x1) of key_order(r, b, g)
  int64_t bucket;  // pass B
};

// Index of the first task of one (batch, head) in the task list.
struct TaskStart {
  int64_t index;
};

// All tasks, ordered by (b, h), then pass A by position, then pass B by round and bucket; with
// first[b*H + h] the index of (b, h)'s first task (first[B*H] == size).
template <int64_t L>
std::vector<SparseTask> build_tasks(const SparseGeometry& g, std::vector<TaskStart>& first) {
  first.assign(static_cast<std::size_t>(g.B * g.H + 1), TaskStart{0});
  std::vector<SparseTask> tasks;
  for (int64_t b = 0; b < g.B; ++b) {
    for (int64_t h = 0; h < g.H; ++h) {
      first[static_cast<std::size_t>(b * g.H + h)].index = static_cast<int64_t>(tasks.size());
      for (int64_t q0 = 0; q0 < g.T; q0 += L) {
        const int64_t nq = std::min(L, g.T - q0);
        const int64_t keys = g.global_count(b, q0 / kSparseQueryBlock) + q0 + nq - std::max<int64_t>(0, q0 - g.W + 1);
        tasks.push_back({static_cast<double>(nq * keys), b, h, -1, q0, nq, 0, 0, 0});
      }
      const int64_t hk = h / g.group;
      for (int64_t r = 0; r < g.R; ++r) {
        const int32_t* qo = g.query_order(r, b, h);
        const int32_t* qs = g.query_start(r, b, h);
        const int32_t* ko = g.key_order(r, b, hk);
        const int32_t* ks = g.key_start(r, b, hk);
        for (int64_t u = 0; u < g.NBk; ++u) {
          const int64_t key_end = ks[u + 1];
          int64_t cursor = ks[u];
          for (int64_t o = qs[u]; o < qs[u + 1]; o += L) {
            const int64_t nq = std::min<int64_t>(L, qs[u + 1] - o);
            while (cursor < key_end && ko[cursor] <= qo[o] - g.W) ++cursor;
            const int64_t x0 = std::max<int64_t>(ks[u], cursor - g.C);
            while (cursor < key_end && ko[cursor] <= qo[o + nq - 1] - g.W) ++cursor;
            tasks.push_back({static_cast<double>(nq * (cursor - x0 + 1)), b, h, r, o, nq, x0, cursor, u});
          }
        }
      }
    }
  }
  first.back().index = static_cast<int64_t>(tasks.size());
  return tasks;
}

// The query lanes of a task and its candidate keys.
struct TaskView {
  int64_t nq = 0;
  int64_t pos[kMaxLanes];              // query positions
  int64_t lo[kMaxLanes], cut[kMaxLanes];  // pass B: lane i keeps slice indices [lo, cut)
  int64_t global_next[kMaxLanes];         // pass B: cursor into lane i's global list (-1: unset)
  const int32_t* list = nullptr;       // pass A: global keys; pass B: candidate keys
  int64_t nlist = 0;
  int64_t local_start = 0;             // pass A: keys list.., then local_start, local_start+1, ...
  int64_t nkeys = 0;

  int64_t key(int64_t j) const { return j < nlist ? list[j] : local_start + (j - nlist); }
};

inline void make_view(const SparseGeometry& g, const SparseTask& task, TaskView& view) {
  view.nq = task.nq;
  if (task.round < 0) {
    for (int64_t i = 0; i < task.nq; ++i) view.pos[i] = task.q0 + i;
    const int64_t block = task.q0 / kSparseQueryBlock;
    view.list = g.globals(task.b, block);
    view.nlist = g.global_count(task.b, block);
    view.local_start = std::max<int64_t>(0, task.q0 - g.W + 1);
    view.nkeys = view.nlist + (task.q0 + task.nq - view.local_start);
    return;
  }
  const int64_t hk = task.h / g.group;
  const int32_t* qo = g.query_order(task.round, task.b, task.h);
  const int32_t* ko = g.key_order(task.round, task.b, hk);
  const int64_t bucket_begin = g.key_start(task.round, task.b, hk)[task.bucket];
  int64_t cursor = task.x0;
  for (int64_t i = 0; i < task.nq; ++i) {
    const int64_t t = qo[task.q0 + i];
    view.pos[i] = t;
    while (cursor < task.x1 && ko[cursor] <= t - g.W) ++cursor;
    view.cut[i] = cursor;
    view.lo[i] = std::max(bucket_begin, cursor - g.C);
    view.global_next[i] = -1;
  }
  view.list = ko + task.x0;
  view.nlist = task.x1 - task.x0;
  view.local_start = 0;
  view.nkeys = view.nlist;
}

// Whether key p is in the global list of lane i's query block. Within a pass B task keys come in
// ascending position order, so each lane walks its list with a cursor (found by binary search on
// the lane's first key): O(C + log G) per lane instead of O(C log G).
inline bool in_globals(const SparseGeometry& g, TaskView& view, int64_t b, int64_t i, int64_t p) {
  const int64_t block = view.pos[i] / kSparseQueryBlock;
  const int64_t n = g.global_count(b, block);
  if (n == 0) return false;
  const int32_t* list = g.globals(b, block);
  int64_t& at = view.global_next[i];
  if (at < 0) at = count_upto(list, 0, n, p - 1);  // the first entry >= p
  while (at < n && list[at] < p) ++at;
  return at < n && list[at] == p;
}

// Whether an earlier round than r already gave key p (position <= t - W) to query t: same bucket
// in round rr, and p among the last C keys <= t - W of that bucket.
inline bool in_earlier_round(const SparseGeometry& g, int64_t b, int64_t h, int64_t r, int64_t t, int64_t p) {
  const int64_t hk = h / g.group;
  for (int64_t rr = 0; rr < r; ++rr) {
    const int64_t u = g.query_bucket(rr, b, h)[t];
    if (g.key_bucket(rr, b, hk)[p] != u) continue;
    const int32_t* ks = g.key_start(rr, b, hk);
    const int64_t cut = count_upto(g.key_order(rr, b, hk), ks[u], ks[u + 1], t - g.W);
    if (g.key_rank(rr, b, hk)[p] >= std::max<int64_t>(ks[u], cut - g.C)) return true;  // and < cut
  }
  return false;
}

// Masks one step of scores st [n][L] (log2 units) for keys [k0, k0 + n) of the view: a pair
// outside the task's sets gets st = -inf and mk = 0, a pair inside mk = 1 (and + key bias for
// global keys, in log2 units like the scores). Padding lanes (>= nq) are outside.
template <int64_t L>
void mask_step(const SparseGeometry& g, const SparseTask& task, TaskView& view, int64_t k0, int64_t n,
               float* st, float* mk) {
  const float* key_bias = g.plan.key_bias != nullptr ? g.plan.key_bias + task.b * g.T : nullptr;
  for (int64_t j = 0; j < n; ++j) {
    const int64_t idx = k0 + j;
    const int64_t p = view.key(idx);
    float* s_row = st + j * L;
    float* m_row = mk + j * L;
    if (task.round < 0) {
      // Pass A lanes are the consecutive positions q0 + i, so each key row keeps one interval
      // of lanes [lo, hi): a global key p the queries t >= p + W, a local key p the queries
      // p <= t < p + W.
      const bool global = idx < view.nlist;
      const int64_t lo = global ? p + g.W - task.q0 : p - task.q0;
      const int64_t hi = global ? view.nq : std::min(view.nq, p + g.W - task.q0);
      const float bias = global && key_bias != nullptr ? key_bias[p] * kLog2e : 0.0f;
      for (int64_t i = 0; i < L; ++i) {
        const bool ok = i >= lo && i < hi;
        s_row[i] = ok ? s_row[i] + bias : kNegInf;
        m_row[i] = ok ? 1.0f : 0.0f;
      }
      continue;
    }
    // LSH key, slice index x: lane i keeps [lo_i, cut_i) minus keys of G(t) or earlier rounds.
    const int64_t x = task.x0 + idx;
    for (int64_t i = 0; i < view.nq; ++i) {
      const bool ok = x >= view.lo[i] && x < view.cut[i] && !in_globals(g, view, task.b, i, p) &&
                      !in_earlier_round(g, task.b, task.h, task.round, view.pos[i], p);
      s_row[i] = ok ? s_row[i] : kNegInf;
      m_row[i] = ok ? 1.0f : 0.0f;
    }
    for (int64_t i = view.nq; i < L; ++i) {
      s_row[i] = kNegInf;
      m_row[i] = 0.0f;
    }
  }
}

// dst [S][D] = the rows of src (k or v, [B, T, Hkv, D]) of keys [k0, k0 + n) of the view.
inline void gather_keys(const SparseGeometry& g, const TaskView& view, const float* src, int64_t b, int64_t hk,
                        int64_t k0, int64_t n, float* dst) {
  for (int64_t j = 0; j < n; ++j) {
    const float* row = src + ((b * g.T + view.key(k0 + j)) * g.Hkv + hk) * g.D;
    std::memcpy(dst + j * g.D, row, sizeof(float) * static_cast<std::size_t>(g.D));
  }
}

// dst [D][L] = the view's query rows of src ([B, T, H, D]) transposed, times factor; lanes past
// nq are 0.
template <int64_t L>
void gather_transposed(const SparseGeometry& g, const TaskView& view, const float* src, int64_t b, int64_t h,
                       float factor, float* dst) {
  for (int64_t i = 0; i < view.nq; ++i) {
    const float* row = src + ((b * g.T + view.pos[i]) * g.H + h) * g.D;
    for (int64_t d = 0; d < g.D; ++d) dst[d * L + i] = row[d] * factor;
  }
  for (int64_t d = 0; d < g.D; ++d) {
    for (int64_t i = view.nq; i < L; ++i) dst[d * L + i] = 0.0f;
  }
}

// ---- Forward -------------------------------------------------------------------------------

template <int NV>
constexpr std::size_t sparse_forward_scratch(int64_t dim) {
  constexpr int64_t L = NV * kWidth;
  return static_cast<std::size_t>(2 * kKeyStep * L + 2 * kKeyStep * dim + 2 * dim * L + 3 * L);
}

// The task's partial softmax: o [nq rows of D] (normalised) into out_base and its lse (natural
// log; -inf and o = 0 for a query with no key in this task) into lse_base, both laid out like
// out [B, T, H, D] and lse [B, H, T].
template <int NV>
void forward_task(const SparseGeometry& g, const SparseTask& task, const float* q, const float* k, const float* v,
                  float* out_base, float* lse_base, float* scratch) {
  constexpr int64_t L = NV * kWidth;
  const int64_t D = g.D;
  float* st = scratch;                    // [S][L]  scores -> P
  float* mk = st + kKeyStep * L;          // [S][L]  1: pair in the task's sets
  float* k_block = mk + kKeyStep * L;     // [S][D]
  float* v_block = k_block + kKeyStep * D;  // [S][D]
  float* qt = v_block + kKeyStep * D;     // [D][L]  Q, transposed, times scale*log2(e)
  float* ot = qt + D * L;                 // [D][L]  unnormalised output, transposed
  float* m = ot + D * L;                  // [L] running max (log2 units)
  float* l = m + L;                       // [L] running sum
  float* alpha = l + L;                   // [L] rescale of this step

  TaskView view;
  make_view(g, task, view);
  const int64_t hk = task.h / g.group;
  gather_transposed<L>(g, view, q, task.b, task.h, g.scale * kLog2e, qt);
  std::memset(ot, 0, sizeof(float) * static_cast<std::size_t>(D * L));
  for (int64_t i = 0; i < L; ++i) {
    m[i] = kFloor;
    l[i] = 0.0f;
  }
  for (int64_t k0 = 0; k0 < view.nkeys; k0 += kKeyStep) {
    const int64_t n = std::min(kKeyStep, view.nkeys - k0);
    gather_keys(g, view, k, task.b, hk, k0, n, k_block);
    gather_keys(g, view, v, task.b, hk, k0, n, v_block);
    dot_rows<NV>(k_block, D, qt, D, n, st);  // St [n][L] = K Qt
    mask_step<L>(g, task, view, k0, n, st, mk);
    Reg m_new[NV], sum[NV];
    for (int vi = 0; vi < NV; ++vi) m_new[vi] = Vec::load(m + vi * kWidth);
    for (int64_t j = 0; j < n; ++j) {
      for (int vi = 0; vi < NV; ++vi) m_new[vi] = Vec::max(m_new[vi], Vec::load(st + j * L + vi * kWidth));
    }
    for (int vi = 0; vi < NV; ++vi) {
      const Reg a = Vec::exp2(Vec::sub(Vec::load(m + vi * kWidth), m_new[vi]));
      Vec::store(alpha + vi * kWidth, a);
      Vec::store(m + vi * kWidth, m_new[vi]);
      sum[vi] = Vec::mul(Vec::load(l + vi * kWidth), a);
    }
    for (int64_t j = 0; j < n; ++j) {
      for (int vi = 0; vi < NV; ++vi) {
        float* s = st + j * L + vi * kWidth;
        // Masked pairs are -inf, which exp2 clamps to 2^-126: the mask makes them exactly 0.
        const Reg p = Vec::mul(Vec::exp2(Vec::sub(Vec::load(s), m_new[vi])), Vec::load(mk + j * L + vi * kWidth));
        Vec::store(s, p);
        sum[vi] = Vec::add(sum[vi], p);
      }
    }
    for (int vi = 0; vi < NV; ++vi) Vec::store(l + vi * kWidth, sum[vi]);
    accumulate_rows<NV, true>(v_block, D, st, n, D, ot, alpha);  // Ot = Ot*alpha + Vᵀ P
  }
  for (int64_t i = 0; i < view.nq; ++i) {
    const int64_t t = view.pos[i];
    float* o_row = out_base + ((task.b * g.T + t) * g.H + task.h) * D;
    float* lse_at = lse_base + (task.b * g.H + task.h) * g.T + t;
    if (l[i] > 0.0f) {
      const float inv = 1.0f / l[i];
      for (int64_t d = 0; d < D; ++d) o_row[d] = ot[d * L + i] * inv;
      *lse_at = (m[i] + __builtin_log2f(l[i])) * kLn2;
    } else {
      for (int64_t d = 0; d < D; ++d) o_row[d] = 0.0f;
      *lse_at = kNegInf;
    }
  }
}

inline void sort_heaviest_first(std::vector<SparseTask>& tasks) {
  std::stable_sort(tasks.begin(), tasks.end(),
                   [](const SparseTask& x, const SparseTask& y) { return x.cost > y.cost; });
}

void forward_f32(const SparseAttentionShape& shape, const SparseAttentionPlan& plan, const float* q, const float* k,
                 const float* v, float* out, float* lse) {
  constexpr int NV = kBlockVectors;
  constexpr int64_t L = NV * kWidth;
  static_assert(L <= kMaxLanes, "a task has at most kMaxLanes query lanes");
  const SparseGeometry g(shape, plan);
  const int64_t rows = g.B * g.T * g.H * g.D;  // floats of out
  const int64_t stats = g.B * g.H * g.T;       // floats of lse
  std::vector<TaskStart> first;
  std::vector<SparseTask> tasks = build_tasks<L>(g, first);
  sort_heaviest_first(tasks);
  // Pass A writes straight into out (and lse); pass B round r into its own partial buffers.
  ScratchBuffer lse_a(static_cast<std::size_t>(stats));
  ScratchBuffer out_b(static_cast<std::size_t>(g.R * rows));
  ScratchBuffer lse_b(static_cast<std::size_t>(g.R * stats));
  run_items(static_cast<int64_t>(tasks.size()), sparse_forward_scratch<NV>(g.D), [&](int64_t index, float* s) {
    const SparseTask& task = tasks[static_cast<std::size_t>(index)];
    if (task.round < 0) {
      forward_task<NV>(g, task, q, k, v, out, lse_a.data(), s);
    } else {
      forward_task<NV>(g, task, q, k, v, out_b.data() + task.round * rows, lse_b.data() + task.round * stats, s);
    }
  });
  // Exact merge: lse = log Σ_x e^{lse_x}, out = Σ_x e^{lse_x - lse} o_x. Pass A always holds the
  // query itself (local key i), so its lse is finite and anchors the max.
  core::parallel_for(g.B * g.T, 16, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / g.T;
      const int64_t t = row % g.T;
      for (int64_t h = 0; h < g.H; ++h) {
        const int64_t at = (b * g.H + h) * g.T + t;
        float* o = out + (row * g.H + h) * g.D;
        if (g.R == 0) {
          if (lse != nullptr) lse[at] = lse_a.data()[at];
          continue;
        }
        float top = lse_a.data()[at];
        for (int64_t r = 0; r < g.R; ++r) top = std::max(top, lse_b.data()[r * stats + at]);
        float total = __builtin_expf(lse_a.data()[at] - top);
        for (int64_t d = 0; d < g.D; ++d) o[d] *= total;
        for (int64_t r = 0; r < g.R; ++r) {
          const float lr = lse_b.data()[r * stats + at];
          if (lr == kNegInf) continue;
          const float w = __builtin_expf(lr - top);
          const float* ob = out_b.data() + r * rows + (row * g.H + h) * g.D;
          for (int64_t d = 0; d < g.D; ++d) o[d] += w * ob[d];
          total += w;
        }
        const float inv = 1.0f / total;
        for (int64_t d = 0; d < g.D; ++d) o[d] *= inv;
        if (lse != nullptr) lse[at] = top + __builtin_logf(total);
      }
    }
  });
}

// ---- Backward ------------------------------------------------------------------------------

template <int NV>
constexpr std::size_t sparse_backward_scratch(int64_t dim) {
  constexpr int64_t L = NV * kWidth;
  return static_cast<std::size_t>(3 * kKeyStep * L + 4 * kKeyStep * dim + 3 * dim * L + 2 * L * dim + 2 * L);
}

// Gradient accumulators owned by one work item (NOTE [backward ownership]).
struct GradSlot {
  float* dq;  // [T][group*D]  the kv group's query heads, adjacent as in dq's rows
  float* dk;  // [T][D]
  float* dv;  // [T][D]
  float* db;  // [T]
};

template <int NV>
void backward_task(const SparseGeometry& g, const SparseTask& task, const float* q, const float* k, const float* v,
                   const float* lse, const float* di, const float* dout, const GradSlot& slot, float* scratch) {
  constexpr int64_t L = NV * kWidth;
  const int64_t D = g.D;
  float* st = scratch;                        // [S][L]  scores -> P
  float* mk = st + kKeyStep * L;              // [S][L]  mask
  float* dpt = mk + kKeyStep * L;             // [S][L]  dP -> dS
  float* k_block = dpt + kKeyStep * L;        // [S][D]
  float* v_block = k_block + kKeyStep * D;    // [S][D]
  float* dk_block = v_block + kKeyStep * D;   // [S][D]  dK / scale of this step's keys
  float* dv_block = dk_block + kKeyStep * D;  // [S][D]
  float* qt = dv_block + kKeyStep * D;        // [D][L]  Q, transposed, times scale*log2(e)
  float* dot = qt + D * L;                    // [D][L]  dO, transposed
  float* dqt = dot + D * L;                   // [D][L]  dQ / scale, transposed
  float* q_rows = dqt + D * L;                // [L][D]
  float* do_rows = q_rows + L * D;            // [L][D]
  float* lse2 = do_rows + L * D;              // [L]  total lse in log2 units
  float* dib = lse2 + L;                      // [L]  Di

  TaskView view;
  make_view(g, task, view);
  if (view.nkeys == 0) return;  // e.g. the LSH tasks of queries t < W: nothing to add
  const int64_t hk = task.h / g.group;
  gather_transposed<L>(g, view, q, task.b, task.h, g.scale * kLog2e, qt);
  gather_transposed<L>(g, view, dout, task.b, task.h, 1.0f, dot);
  std::memset(dqt, 0, sizeof(float) * static_cast<std::size_t>(D * L));
  for (int64_t i = 0; i < L; ++i) {
    const int64_t at = (task.b * g.H + task.h) * g.T + (i < view.nq ? view.pos[i] : 0);
    lse2[i] = i < view.nq ? lse[at] * kLog2e : 0.0f;
    dib[i] = i < view.nq ? di[at] : 0.0f;
  }
  for (int64_t i = 0; i < view.nq; ++i) {
    const int64_t row = ((task.b * g.T + view.pos[i]) * g.H + task.h) * D;
    std::memcpy(q_rows + i * D, q + row, sizeof(float) * static_cast<std::size_t>(D));
    std::memcpy(do_rows + i * D, dout + row, sizeof(float) * static_cast<std::size_t>(D));
  }
  const bool globals = task.round < 0;
  for (int64_t k0 = 0; k0 < view.nkeys; k0 += kKeyStep) {
    const int64_t n = std::min(kKeyStep, view.nkeys - k0);
    gather_keys(g, view, k, task.b, hk, k0, n, k_block);
    gather_keys(g, view, v, task.b, hk, k0, n, v_block);
    dot_rows<NV>(k_block, D, qt, D, n, st);   // St [n][L] = K Qt
    mask_step<L>(g, task, view, k0, n, st, mk);
    dot_rows<NV>(v_block, D, dot, D, n, dpt);  // dPt [n][L] = V dOt
    for (int64_t j = 0; j < n; ++j) {
      for (int vi = 0; vi < NV; ++vi) {
        float* s = st + j * L + vi * kWidth;
        float* dp = dpt + j * L + vi * kWidth;
        const Reg p = Vec::mul(Vec::exp2(Vec::sub(Vec::load(s), Vec::load(lse2 + vi * kWidth))),
                               Vec::load(mk + j * L + vi * kWidth));
        Vec::store(s, p);
        Vec::store(dp, Vec::mul(p, Vec::sub(Vec::load(dp), Vec::load(dib + vi * kWidth))));
      }
    }
    accumulate_rows<NV, false>(k_block, D, dpt, n, D, dqt, nullptr);  // dQt += Kᵀ dSt
    std::memset(dk_block, 0, sizeof(float) * static_cast<std::size_t>(2 * kKeyStep * D));  // and dv_block
    add_rows_over_dim(st, L, do_rows, D, view.nq, n, dv_block, D, D);   // dV [n, D] = P dO
    add_rows_over_dim(dpt, L, q_rows, D, view.nq, n, dk_block, D, D);   // dK [n, D] = dS Q
    for (int64_t j = 0; j < n; ++j) {
      const int64_t p = view.key(k0 + j);
      float* dk_row = slot.dk + p * D;
      float* dv_row = slot.dv + p * D;
      for (int64_t d = 0; d < D; ++d) {
        dk_row[d] += g.scale * dk_block[j * D + d];
        dv_row[d] += dv_block[j * D + d];
      }
      if (globals && k0 + j < view.nlist) {
        float sum = 0.0f;
        for (int64_t i = 0; i < view.nq; ++i) sum += dpt[j * L + i];
        slot.db[p] += sum;
      }
    }
  }
  const int64_t head = task.h % g.group;
  for (int64_t i = 0; i < view.nq; ++i) {
    float* dq_row = slot.dq + view.pos[i] * g.group * D + head * D;
    for (int64_t d = 0; d < D; ++d) dq_row[d] += g.scale * dqt[d * L + i];
  }
}

// NOTE [backward ownership]: keys, values and queries reached by a task are scattered, so two
// tasks of one kv group may add into the same dK/dV/dQ rows. Work items are (batch, kv head,
// part): item (b, g, p) runs every P-th task of (b, g)'s query heads and adds into its own slot
// (dq of the group's heads, dk, dv, key-bias gradient over all T positions); the slots are summed
// at the end. P = ceil(threads / (B·Hkv)) keeps every thread busy; the slots then take
// max(B·Hkv, threads)·T·(group + 2)·D floats, i.e. about the size of dq + dk + dv whenever
// B·Hkv >= threads. The result does not depend on which thread runs what.
void backward_f32(const SparseAttentionShape& shape, const SparseAttentionPlan& plan, const float* q, const float* k,
                  const float* v, const float* out, const float* lse, const float* dout, float* dq, float* dk,
                  float* dv, float* dkey_bias) {
  constexpr int NV = kBlockVectors;
  constexpr int64_t L = NV * kWidth;
  const SparseGeometry g(shape, plan);
  const int64_t D = g.D;

  // Di = rowsum(dO ∘ O): [B, H, T]
  ScratchBuffer di(static_cast<std::size_t>(g.B * g.H * g.T));
  core::parallel_for(g.B * g.T, 64, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / g.T;
      const int64_t t = row % g.T;
      for (int64_t h = 0; h < g.H; ++h) {
        const float* o_row = out + (row * g.H + h) * D;
        const float* do_row = dout + (row * g.H + h) * D;
        float sum = 0.0f;
        for (int64_t d = 0; d < D; ++d) sum += o_row[d] * do_row[d];
        di.data()[(b * g.H + h) * g.T + t] = sum;
      }
    }
  });

  std::vector<TaskStart> first;
  const std::vector<SparseTask> tasks = build_tasks<L>(g, first);

  const int64_t groups = g.B * g.Hkv;
  const int64_t threads = core::num_threads();
  const int64_t parts = std::clamp<int64_t>((threads + groups - 1) / groups, 1, 64);
  const int64_t slot_floats = g.T * (g.group * D + 2 * D + 1);
  ScratchBuffer slots(static_cast<std::size_t>(groups * parts * slot_floats));
  auto slot_at = [&](int64_t index) {
    float* base = slots.data() + index * slot_floats;
    return GradSlot{base, base + g.T * g.group * D, base + g.T * (g.group + 1) * D, base + g.T * (g.group + 2) * D};
  };
  run_items(groups * parts, sparse_backward_scratch<NV>(D), [&](int64_t index, float* s) {
    const int64_t bg = index / parts;
    const int64_t part = index % parts;
    const int64_t b = bg / g.Hkv;
    const int64_t hk = bg % g.Hkv;
    std::memset(slots.data() + index * slot_floats, 0, sizeof(float) * static_cast<std::size_t>(slot_floats));
    const GradSlot slot = slot_at(index);
    const int64_t begin = first[static_cast<std::size_t>(b * g.H + hk * g.group)].index;
    const int64_t end = first[static_cast<std::size_t>(b * g.H + (hk + 1) * g.group)].index;
    for (int64_t x = begin + part; x < end; x += parts) {
      backward_task<NV>(g, tasks[static_cast<std::size_t>(x)], q, k, v, lse, di.data(), dout, slot, s);
    }
  });
  // Sum the slots into dq, dk, dv and dkey_bias (all overwritten).
  core::parallel_for(g.B * g.T, 16, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / g.T;
      const int64_t t = row % g.T;
      float bias_sum = 0.0f;
      for (int64_t hk = 0; hk < g.Hkv; ++hk) {
        float* dq_row = dq + (row * g.H + hk * g.group) * D;
        float* dk_row = dk + (row * g.Hkv + hk) * D;
        float* dv_row = dv + (row * g.Hkv + hk) * D;
        for (int64_t part = 0; part < parts; ++part) {
          const GradSlot slot = slot_at((b * g.Hkv + hk) * parts + part);
          const float* sq = slot.dq + t * g.group * D;
          const float* sk = slot.dk + t * D;
          const float* sv = slot.dv + t * D;
          if (part == 0) {
            std::memcpy(dq_row, sq, sizeof(float) * static_cast<std::size_t>(g.group * D));
            std::memcpy(dk_row, sk, sizeof(float) * static_cast<std::size_t>(D));
            std::memcpy(dv_row, sv, sizeof(float) * static_cast<std::size_t>(D));
          } else {
            for (int64_t d = 0; d < g.group * D; ++d) dq_row[d] += sq[d];
            for (int64_t d = 0; d < D; ++d) {
              dk_row[d] += sk[d];
              dv_row[d] += sv[d];
            }
          }
          bias_sum += slot.db[t];
        }
      }
      if (dkey_bias != nullptr) dkey_bias[row] = bias_sum;
    }
  });
}

}  // namespace sieve::kernels::cpu::SIEVE_ATTENTION_ISA
