// Dynamic sparse attention: argument and plan checks, run-time ISA dispatch, and the portable
// path. The algorithm is in sparse_attention_impl.h (compiled here with an 8-lane portable Vec,
// and in sparse_attention_avx512.cpp / sparse_attention_avx2.cpp with intrinsics).
//
// Letters as in sparse_attention.h.
#include "sieve/kernels/cpu/sparse_attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"

namespace sieve::kernels::cpu {
namespace sparse_portable {

// Plain C++ lanes for CPUs without AVX2 (and SIEVE_ISA=scalar), shared with the dense kernel.
#include "sieve/kernels/cpu/attention_vec_portable.h"

}  // namespace sparse_portable
}  // namespace sieve::kernels::cpu

#define SIEVE_ATTENTION_ISA sparse_portable
#include "sieve/kernels/cpu/attention_causal_blocks.h"
#include "sieve/kernels/cpu/sparse_attention_impl.h"
#undef SIEVE_ATTENTION_ISA

namespace sieve::kernels::cpu {

// Defined in sparse_attention_avx512.cpp / sparse_attention_avx2.cpp (via the impl header).
namespace sparse_avx512 {
void forward_f32(const SparseAttentionShape& shape, const SparseAttentionPlan& plan, const float* q, const float* k,
                 const float* v, float* out, float* lse);
void backward_f32(const SparseAttentionShape& shape, const SparseAttentionPlan& plan, const float* q, const float* k,
                  const float* v, const float* out, const float* lse, const float* dout, float* dq, float* dk,
                  float* dv, float* dkey_bias);
}  // namespace sparse_avx512
namespace sparse_avx2 {
void forward_f32(const SparseAttentionShape& shape, const SparseAttentionPlan& plan, const float* q, const float* k,
                 const float* v, float* out, float* lse);
void backward_f32(const SparseAttentionShape& shape, const SparseAttentionPlan& plan, const float* q, const float* k,
                  const float* v, const float* out, const float* lse, const float* dout, float* dq, float* dk,
                  float* dv, float* dkey_bias);
}  // namespace sparse_avx2

namespace {

using std::int64_t;

const char* isa_name(AttentionIsa isa) {
  switch (isa) {
    case AttentionIsa::avx512: return "avx512";
    case AttentionIsa::avx2: return "avx2";
    case AttentionIsa::portable: return "portable";
  }
  return "unknown";
}

void check_isa(AttentionIsa isa) {
  const core::CpuFeatures& f = core::cpu_features();
  const bool ok = isa == AttentionIsa::portable || (isa == AttentionIsa::avx2 && f.has_avx2()) ||
                  (isa == AttentionIsa::avx512 && f.has_avx512());
  SIEVE_CHECK(ok, "sparse_attention: instruction set {} is not available on this CPU ({})", isa_name(isa),
              f.describe());
}

void check_dtype(core::DType dtype, const char* what) {
  SIEVE_CHECK(dtype == core::DType::f32, "sparse_attention_{}: dtype {} is not implemented (only f32 is)", what,
              core::dtype_name(dtype));
}

void check_shape(const SparseAttentionShape& s) {
  SIEVE_CHECK(s.batch >= 0 && s.tokens >= 0, "sparse_attention: negative size (batch {}, tokens {})", s.batch,
              s.tokens);
  SIEVE_CHECK(s.tokens < (int64_t{1} << 31), "sparse_attention: tokens {} do not fit the plan's int32 positions",
              s.tokens);
  SIEVE_CHECK(s.heads > 0 && s.kv_heads > 0 && s.heads % s.kv_heads == 0,
              "sparse_attention: heads {} must be a positive multiple of kv_heads {}", s.heads, s.kv_heads);
  SIEVE_CHECK(s.head_dim > 0, "sparse_attention: head_dim {} must be positive", s.head_dim);
  SIEVE_CHECK(s.window >= kSparseQueryBlock, "sparse_attention: window {} must be >= {}", s.window,
              kSparseQueryBlock);
  SIEVE_CHECK(s.rounds >= 0, "sparse_attention: rounds {} must be >= 0", s.rounds);
  SIEVE_CHECK(s.rounds == 0 || (s.lsh_keys >= 1 && s.buckets >= 2),
              "sparse_attention: with {} hash rounds lsh_keys {} must be >= 1 and buckets {} >= 2", s.rounds,
              s.lsh_keys, s.buckets);
  SIEVE_CHECK(s.global_cap >= 0, "sparse_attention: global_cap {} must be >= 0", s.global_cap);
  SIEVE_CHECK(std::isfinite(s.scale), "sparse_attention: scale {} must be finite", s.scale);
}

// One sort order of the plan: order[start[u] .. start[u+1]) must be the positions whose bucket
// is u, ascending, and start must run from 0 to T.
void check_order(const char* what, int64_t T, int64_t buckets, const std::int32_t* bucket, const std::int32_t* order,
                 const std::int32_t* start) {
  SIEVE_CHECK(start[0] == 0 && start[buckets] == T, "sparse_attention plan: {} bucket starts run from {} to {}, "
              "expected 0 to {}", what, start[0], start[buckets], T);
  for (int64_t u = 0; u < buckets; ++u) {
    SIEVE_CHECK(start[u] <= start[u + 1], "sparse_attention plan: {} bucket starts decrease at bucket {}", what, u);
    for (int64_t x = start[u]; x < start[u + 1]; ++x) {
      const int64_t p = order[x];
      SIEVE_CHECK(p >= 0 && p < T && bucket[p] == u && (x == start[u] || order[x - 1] < p),
                  "sparse_attention plan: {} order entry {} (position {}) is not an ascending position of bucket {}",
                  what, x, p, u);
    }
  }
}

void check_plan(const SparseAttentionShape& s, const SparseAttentionPlan& plan) {
  const int64_t B = s.batch, T = s.tokens, NB = (T + kSparseQueryBlock - 1) / kSparseQueryBlock;
  if (s.global_cap > 0) {
    SIEVE_CHECK(plan.global_keys != nullptr && plan.global_count != nullptr,
                "sparse_attention plan: null global_keys or global_count with global_cap {}", s.global_cap);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t block = 0; block < NB; ++block) {
        const int64_t count = plan.global_count[b * NB + block];
        SIEVE_CHECK(count >= 0 && count <= s.global_cap,
                    "sparse_attention plan: global count {} of batch {} block {} is outside [0, {}]", count, b, block,
                    s.global_cap);
        const std::int32_t* keys = plan.global_keys + (b * NB + block) * s.global_cap;
        const int64_t horizon = block * kSparseQueryBlock + kSparseQueryBlock - 1 - s.window;
        for (int64_t x = 0; x < count; ++x) {
          SIEVE_CHECK(keys[x] >= 0 && keys[x] <= horizon && (x == 0 || keys[x - 1] < keys[x]),
                      "sparse_attention plan: global key {} of batch {} block {} is not ascending in [0, {}]",
                      keys[x], b, block, horizon);
        }
      }
    }
  }
  if (s.rounds == 0) return;
  SIEVE_CHECK(plan.query_bucket && plan.key_bucket && plan.key_order && plan.bucket_start && plan.key_rank &&
                  plan.query_order && plan.query_bucket_start,
              "sparse_attention plan: null LSH array with {} rounds", s.rounds);
  for (int64_t r = 0; r < s.rounds; ++r) {
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t h = 0; h < s.heads; ++h) {
        const int64_t at = (r * B + b) * s.heads + h;
        check_order("query", T, s.buckets, plan.query_bucket + at * T, plan.query_order + at * T,
                    plan.query_bucket_start + at * (s.buckets + 1));
      }
      for (int64_t g = 0; g < s.kv_heads; ++g) {
        const int64_t at = (r * B + b) * s.kv_heads + g;
        const std::int32_t* order = plan.key_order + at * T;
        const std::int32_t* rank = plan.key_rank + at * T;
        check_order("key", T, s.buckets, plan.key_bucket + at * T, order, plan.bucket_start + at * (s.buckets + 1));
        for (int64_t x = 0; x < T; ++x) {
          SIEVE_CHECK(rank[order[x]] == x, "sparse_attention plan: key_rank[{}] is {}, expected {}", order[x],
                      rank[order[x]], x);
        }
      }
    }
  }
}

}  // namespace

void sparse_attention_forward_isa(AttentionIsa isa, core::DType dtype, const SparseAttentionShape& shape,
                                  const SparseAttentionPlan& plan, const void* q, const void* k, const void* v,
                                  void* out, float* lse) {
  check_dtype(dtype, "forward");
  check_shape(shape);
  check_isa(isa);
  if (shape.batch == 0 || shape.tokens == 0) return;
  SIEVE_CHECK(q && k && v && out, "sparse_attention_forward: null q, k, v or out");
  check_plan(shape, plan);
  const auto* qf = static_cast<const float*>(q);
  const auto* kf = static_cast<const float*>(k);
  const auto* vf = static_cast<const float*>(v);
  auto* of = static_cast<float*>(out);
  switch (isa) {
    case AttentionIsa::avx512: sparse_avx512::forward_f32(shape, plan, qf, kf, vf, of, lse); break;
    case AttentionIsa::avx2: sparse_avx2::forward_f32(shape, plan, qf, kf, vf, of, lse); break;
    case AttentionIsa::portable: sparse_portable::forward_f32(shape, plan, qf, kf, vf, of, lse); break;
  }
}

void sparse_attention_backward_isa(AttentionIsa isa, core::DType dtype, const SparseAttentionShape& shape,
                                   const SparseAttentionPlan& plan, const void* q, const void* k, const void* v,
                                   const void* out, const float* lse, const void* dout, void* dq, void* dk,
                                   void* dv, float* dkey_bias) {
  check_dtype(dtype, "backward");
  check_shape(shape);
  check_isa(isa);
  if (shape.batch == 0 || shape.tokens == 0) return;
  SIEVE_CHECK(q && k && v && out && lse && dout && dq && dk && dv,
              "sparse_attention_backward: null q, k, v, out, lse, dout, dq, dk or dv");
  check_plan(shape, plan);
  const auto* qf = static_cast<const float*>(q);
  const auto* kf = static_cast<const float*>(k);
  const auto* vf = static_cast<const float*>(v);
  const auto* of = static_cast<const float*>(out);
  const auto* dof = static_cast<const float*>(dout);
  auto* dqf = static_cast<float*>(dq);
  auto* dkf = static_cast<float*>(dk);
  auto* dvf = static_cast<float*>(dv);
  switch (isa) {
    case AttentionIsa::avx512:
      sparse_avx512::backward_f32(shape, plan, qf, kf, vf, of, lse, dof, dqf, dkf, dvf, dkey_bias);
      break;
    case AttentionIsa::avx2:
      sparse_avx2::backward_f32(shape, plan, qf, kf, vf, of, lse, dof, dqf, dkf, dvf, dkey_bias);
      break;
    case AttentionIsa::portable:
      sparse_portable::backward_f32(shape, plan, qf, kf, vf, of, lse, dof, dqf, dkf, dvf, dkey_bias);
      break;
  }
}

void sparse_attention_forward(core::DType dtype, const SparseAttentionShape& shape, const SparseAttentionPlan& plan,
                              const void* q, const void* k, const void* v, void* out, float* lse) {
  sparse_attention_forward_isa(attention_causal_default_isa(), dtype, shape, plan, q, k, v, out, lse);
}

void sparse_attention_backward(core::DType dtype, const SparseAttentionShape& shape, const SparseAttentionPlan& plan,
                               const void* q, const void* k, const void* v, const void* out, const float* lse,
                               const void* dout, void* dq, void* dk, void* dv, float* dkey_bias) {
  sparse_attention_backward_isa(attention_causal_default_isa(), dtype, shape, plan, q, k, v, out, lse, dout, dq, dk,
                                dv, dkey_bias);
}

}  // namespace sieve::kernels::cpu
