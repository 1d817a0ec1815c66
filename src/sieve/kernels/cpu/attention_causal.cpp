// Fused attention (causal or bidirectional): argument checks, run-time ISA dispatch, and the portable path.
// The algorithm itself is in attention_causal_impl.h (compiled here with an 8-lane portable
// Vec, and in attention_causal_avx512.cpp / attention_causal_avx2.cpp with intrinsics).
//
// Letters: B batch, T query tokens, S key tokens, H query heads, Hkv kv heads, D head dim.
#include "sieve/kernels/cpu/attention_causal.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"

namespace sieve::kernels::cpu {
namespace attention_portable {

// Plain C++ lanes for CPUs without AVX2 (and SIEVE_ISA=scalar); loops of 8 the compiler can
// vectorise with SSE2. Exact std::exp2, so this path is also the most accurate.
#include "sieve/kernels/cpu/attention_vec_portable.h"

}  // namespace attention_portable
}  // namespace sieve::kernels::cpu

#define SIEVE_ATTENTION_ISA attention_portable
#include "sieve/kernels/cpu/attention_causal_impl.h"
#undef SIEVE_ATTENTION_ISA

namespace sieve::kernels::cpu {

// Defined in attention_causal_avx512.cpp / attention_causal_avx2.cpp (via the impl header).
namespace attention_avx512 {
void forward_f32(const CausalAttentionShape& shape, const float* q, const float* k,
                 const float* v, float* out, float* lse);
void backward_f32(const CausalAttentionShape& shape, AttentionBackwardSchedule schedule,
                  const float* q, const float* k, const float* v, const float* out,
                  const float* lse, const float* dout, float* dq, float* dk, float* dv);
}  // namespace attention_avx512
namespace attention_avx2 {
void forward_f32(const CausalAttentionShape& shape, const float* q, const float* k,
                 const float* v, float* out, float* lse);
void backward_f32(const CausalAttentionShape& shape, AttentionBackwardSchedule schedule,
                  const float* q, const float* k, const float* v, const float* out,
                  const float* lse, const float* dout, float* dq, float* dk, float* dv);
}  // namespace attention_avx2

namespace {

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
  SIEVE_CHECK(ok, "attention_causal: instruction set {} is not available on this CPU ({})",
              isa_name(isa), f.describe());
}

void check_dtype(core::DType dtype, const char* what) {
  SIEVE_CHECK(dtype == core::DType::f32,
              "attention_causal_{}: dtype {} is not implemented (only f32 is)", what,
              core::dtype_name(dtype));
}

void check_shape(const CausalAttentionShape& s) {
  SIEVE_CHECK(s.batch >= 0 && s.query_tokens >= 0 && s.key_tokens >= 0,
              "attention_causal: negative size (batch {}, query_tokens {}, key_tokens {})",
              s.batch, s.query_tokens, s.key_tokens);
  SIEVE_CHECK(s.heads > 0 && s.kv_heads > 0 && s.heads % s.kv_heads == 0,
              "attention_causal: heads {} must be a positive multiple of kv_heads {}", s.heads,
              s.kv_heads);
  SIEVE_CHECK(s.head_dim > 0, "attention_causal: head_dim {} must be positive", s.head_dim);
  SIEVE_CHECK(s.query_offset >= 0, "attention_causal: query_offset {} must be >= 0",
              s.query_offset);
  SIEVE_CHECK(s.query_tokens == 0 || s.key_tokens > 0,
              "attention_causal: {} queries but no keys", s.query_tokens);
  const std::int64_t contiguous = s.key_tokens * s.kv_heads * s.head_dim;
  SIEVE_CHECK(s.kv_batch_stride == 0 || s.kv_batch_stride >= contiguous,
              "attention_causal: kv_batch_stride {} is smaller than one batch of k/v ({} = "
              "key_tokens*kv_heads*head_dim)",
              s.kv_batch_stride, contiguous);
  SIEVE_CHECK(std::isfinite(s.scale), "attention_causal: scale {} must be finite", s.scale);
  SIEVE_CHECK(s.causal || s.query_offset == 0,
              "attention_causal: a bidirectional (causal = false) call needs query_offset 0, got {}",
              s.query_offset);
  if (s.key_lengths != nullptr) {
    for (std::int64_t b = 0; b < s.batch; ++b) {
      SIEVE_CHECK(s.key_lengths[b] >= 1 && s.key_lengths[b] <= s.key_tokens,
                  "attention_causal: key_lengths[{}] = {} must be in [1, key_tokens = {}]", b,
                  s.key_lengths[b], s.key_tokens);
    }
  }
}

bool has_queries(const CausalAttentionShape& s) { return s.batch > 0 && s.query_tokens > 0; }

}  // namespace

AttentionIsa attention_causal_default_isa() {
  const core::CpuFeatures& f = core::cpu_features();
  if (f.has_avx512()) return AttentionIsa::avx512;
  if (f.has_avx2()) return AttentionIsa::avx2;
  return AttentionIsa::portable;
}

void attention_causal_forward_isa(AttentionIsa isa, core::DType dtype,
                                  const CausalAttentionShape& shape, const void* q, const void* k,
                                  const void* v, void* out, float* lse) {
  check_dtype(dtype, "forward");
  check_shape(shape);
  check_isa(isa);
  if (!has_queries(shape)) return;
  SIEVE_CHECK(q && k && v && out, "attention_causal_forward: null q, k, v or out");
  const auto* qf = static_cast<const float*>(q);
  const auto* kf = static_cast<const float*>(k);
  const auto* vf = static_cast<const float*>(v);
  auto* of = static_cast<float*>(out);
  switch (isa) {
    case AttentionIsa::avx512: attention_avx512::forward_f32(shape, qf, kf, vf, of, lse); break;
    case AttentionIsa::avx2: attention_avx2::forward_f32(shape, qf, kf, vf, of, lse); break;
    case AttentionIsa::portable: attention_portable::forward_f32(shape, qf, kf, vf, of, lse); break;
  }
}

void attention_causal_backward_isa(AttentionIsa isa, AttentionBackwardSchedule schedule,
                                   core::DType dtype, const CausalAttentionShape& shape,
                                   const void* q, const void* k, const void* v, const void* out,
                                   const float* lse, const void* dout, void* dq, void* dk,
                                   void* dv) {
  check_dtype(dtype, "backward");
  check_shape(shape);
  check_isa(isa);
  if (shape.batch == 0 || shape.key_tokens == 0) return;  // no keys: no queries either
  SIEVE_CHECK(dk && dv, "attention_causal_backward: null dk or dv");
  if (shape.query_tokens == 0) {  // keys nobody sees: zero gradient
    const auto count = static_cast<std::size_t>(shape.batch * shape.key_tokens *
                                                shape.kv_heads * shape.head_dim);
    std::fill_n(static_cast<float*>(dk), count, 0.0f);
    std::fill_n(static_cast<float*>(dv), count, 0.0f);
    return;
  }
  SIEVE_CHECK(q && k && v && out && lse && dout && dq,
              "attention_causal_backward: null q, k, v, out, lse, dout or dq");
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
      attention_avx512::backward_f32(shape, schedule, qf, kf, vf, of, lse, dof, dqf, dkf, dvf);
      break;
    case AttentionIsa::avx2:
      attention_avx2::backward_f32(shape, schedule, qf, kf, vf, of, lse, dof, dqf, dkf, dvf);
      break;
    case AttentionIsa::portable:
      attention_portable::backward_f32(shape, schedule, qf, kf, vf, of, lse, dof, dqf, dkf, dvf);
      break;
  }
}

void attention_causal_forward(core::DType dtype, const CausalAttentionShape& shape, const void* q,
                              const void* k, const void* v, void* out, float* lse) {
  attention_causal_forward_isa(attention_causal_default_isa(), dtype, shape, q, k, v, out, lse);
}

void attention_causal_backward(core::DType dtype, const CausalAttentionShape& shape,
                               const void* q, const void* k, const void* v, const void* out,
                               const float* lse, const void* dout, void* dq, void* dk, void* dv) {
  attention_causal_backward_isa(attention_causal_default_isa(),
                                AttentionBackwardSchedule::automatic, dtype, shape, q, k, v, out,
                                lse, dout, dq, dk, dv);
}

}  // namespace sieve::kernels::cpu
