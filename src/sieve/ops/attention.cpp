// Fused attention, causal or bidirectional. Letters: B batch, T query tokens, S key tokens,
// H query heads, Hkv key/value heads, D head dim. The forward saves out and the per-row
// logsumexp lse [B, H, T]; backward recomputes the scores tile by tile from q, k, v (no T×S
// buffer).
//
// Precision policy (precision.h): the kernel computes in f32; under bf16 / fp16 / tf32 its
// operands are rounded to that dtype's values first (and its output and gradients to binary16
// under fp16), and the tensors it saves for backward are kept in the policy's storage dtype.
#include "sieve/ops/attention.h"

#include <vector>

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/attention_causal.h"
#include "sieve/ops/op_support.h"
#include "sieve/ops/precision_cast.h"

namespace sieve::ops {
namespace {

// True when every token's [Hkv, D] block is contiguous and tokens follow each other, so only
// the batch stride may differ from a contiguous layout (a KV-cache view).
bool kv_readable_in_place(const Tensor& t) {
  const auto& st = t.strides();
  const std::int64_t S = t.size(1), Hkv = t.size(2), D = t.size(3);
  const bool token_ok = (D <= 1 || st[3] == 1) && (Hkv <= 1 || st[2] == D) && (S <= 1 || st[1] == Hkv * D);
  return token_ok && (t.size(0) <= 1 || st[0] >= S * Hkv * D);
}

// The mask of one call: causal with a query offset, or bidirectional; key lengths per batch
// (empty: all S) in either mode.
struct AttentionMask {
  bool causal = true;
  std::int64_t query_offset = 0;
  std::vector<std::int64_t> key_lengths;  // [B] or empty
};

Tensor fused_attention(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                       const AttentionMask& mask) {
  SIEVE_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4,
              "{}: q, k, v must be [B, T, H, D], [B, S, Hkv, D], [B, S, Hkv, D]; got {}, {}, {}", op,
              core::shape_string(q.shape()), core::shape_string(k.shape()), core::shape_string(v.shape()));
  const std::int64_t B = q.size(0), T = q.size(1), H = q.size(2), D = q.size(3);
  const std::int64_t S = k.size(1), Hkv = k.size(2);
  SIEVE_CHECK(k.shape() == v.shape() && k.size(0) == B && k.size(3) == D && Hkv > 0 && H % Hkv == 0,
              "{}: q {} needs k and v [B={}, S, Hkv, D={}] with H={} divisible by Hkv; got k {}, v {}", op,
              core::shape_string(q.shape()), B, D, H, core::shape_string(k.shape()), core::shape_string(v.shape()));
  SIEVE_CHECK(mask.query_offset >= 0, "{}: query_offset must be >= 0, got {}", op, mask.query_offset);
  if (!mask.key_lengths.empty()) {
    SIEVE_CHECK(static_cast<std::int64_t>(mask.key_lengths.size()) == B,
                "{}: key_lengths needs one length per batch ({}), got {}", op, B, mask.key_lengths.size());
    for (std::int64_t b = 0; b < B; ++b) {
      const std::int64_t n = mask.key_lengths[static_cast<std::size_t>(b)];
      SIEVE_CHECK(n >= 1 && n <= S, "{}: key_lengths[{}] = {} must be in [1, S = {}]", op, b, n, S);
    }
  }
  SIEVE_CHECK(T == 0 || S > 0, "{}: {} queries but no keys", op, T);
  detail::check_floating(q, op);
  detail::check_same_dtype(q, k, op);
  detail::check_same_dtype(q, v, op);

  // Only f32 tensors follow the policy; an f32 policy leaves the operands (and KV-cache views) as they are.
  const PrecisionPolicy policy = q.dtype() == core::DType::f32 ? current_precision() : PrecisionPolicy{};
  const bool plain = policy == PrecisionPolicy{};
  const Tensor qc = detail::round_to_compute(detail::dense(q), policy.compute);  // [B, T, H, D]
  // k and v are read in place when they are KV-cache views sharing one batch stride;
  // anything else is made contiguous.
  const bool in_place = plain && kv_readable_in_place(k) && kv_readable_in_place(v) &&
                        (B <= 1 || k.strides()[0] == v.strides()[0]);
  const Tensor kc = in_place ? k : detail::round_to_compute(detail::dense(k), policy.compute);  // [B, S, Hkv, D]
  const Tensor vc = in_place ? v : detail::round_to_compute(detail::dense(v), policy.compute);  // [B, S, Hkv, D]
  kernels::cpu::CausalAttentionShape shape{};
  shape.batch = B;
  shape.query_tokens = T;
  shape.key_tokens = S;
  shape.heads = H;
  shape.kv_heads = Hkv;
  shape.head_dim = D;
  shape.query_offset = mask.query_offset;
  shape.kv_batch_stride = B <= 1 ? 0 : kc.strides()[0];
  shape.scale = scale;
  shape.causal = mask.causal;
  // The lengths live in the backward's closure too; each call points the shape at its own copy.
  const std::vector<std::int64_t> lengths = mask.key_lengths;
  shape.key_lengths = lengths.empty() ? nullptr : lengths.data();

  Tensor out = Tensor::empty(q.shape(), q.dtype());  // [B, T, H, D]
  const bool record = autograd::needs_grad({&q, &k, &v});
  Tensor lse = record ? Tensor::empty({B, H, T}) : Tensor();  // [B, H, T]
  kernels::cpu::attention_causal_forward(q.dtype(), shape, qc.raw_data(), kc.raw_data(), vc.raw_data(), out.raw_data(),
                                         record ? lse.data<float>() : nullptr);
  detail::round_result(out, policy.compute);
  if (record) {
    const bool need_q = q.requires_grad(), need_k = k.requires_grad(), need_v = v.requires_grad();
    const core::DType store = policy.activation_storage;
    const Tensor qs = detail::cast_to(qc, store).detach(), ks = detail::cast_to(kc, store).detach();
    // out is on the compute grid only under fp16; elsewhere a narrow copy would perturb the
    // backward's rowsum(dout · out), so it stays f32.
    const Tensor vs = detail::cast_to(vc, store).detach();
    const Tensor outs = (policy.compute == ComputePrecision::f16 ? detail::cast_to(out, store) : out).detach();
    autograd::record(out, op, {&q, &k, &v}, [=](const Tensor& dout) -> std::vector<Tensor> {
      kernels::cpu::CausalAttentionShape grad_shape = shape;
      grad_shape.key_lengths = lengths.empty() ? nullptr : lengths.data();
      const Tensor dc = detail::round_to_compute(detail::dense(dout), policy.compute);  // [B, T, H, D]
      // Saved operands back in f32, the kernel's dtype (values were on the compute grid already).
      const Tensor qr = detail::cast_to(qs, core::DType::f32), kr = detail::cast_to(ks, core::DType::f32);
      const Tensor vr = detail::cast_to(vs, core::DType::f32), outr = detail::cast_to(outs, core::DType::f32);
      // The kernel writes all three gradients; dk and dv come back contiguous.
      Tensor dq = Tensor::empty(qr.shape(), qr.dtype());  // [B, T, H, D]
      Tensor dk = Tensor::empty(kr.shape(), kr.dtype());  // [B, S, Hkv, D]
      Tensor dv = Tensor::empty(vr.shape(), vr.dtype());  // [B, S, Hkv, D]
      kernels::cpu::attention_causal_backward(qr.dtype(), grad_shape, qr.raw_data(), kr.raw_data(), vr.raw_data(),
                                              outr.raw_data(), lse.data<float>(), dc.raw_data(), dq.raw_data(),
                                              dk.raw_data(), dv.raw_data());
      for (const Tensor* grad : {&dq, &dk, &dv}) detail::round_result(*grad, policy.compute);
      return {need_q ? dq : Tensor(), need_k ? dk : Tensor(), need_v ? dv : Tensor()};
    });
  }
  return out;
}

}  // namespace

Tensor causal_attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, std::int64_t query_offset) {
  return fused_attention("causal_attention", q, k, v, scale, AttentionMask{true, query_offset, {}});
}

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                 std::span<const std::int64_t> key_lengths) {
  return fused_attention("attention", q, k, v, scale,
                         AttentionMask{false, 0, std::vector<std::int64_t>(key_lengths.begin(), key_lengths.end())});
}

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, const Tensor& key_lengths) {
  if (!key_lengths.defined()) return attention(q, k, v, scale, std::span<const std::int64_t>());
  SIEVE_CHECK(key_lengths.dtype() == core::DType::i64 && key_lengths.dim() == 1,
              "attention: key_lengths must be an int64 tensor [B], got {} {}", core::dtype_name(key_lengths.dtype()),
              core::shape_string(key_lengths.shape()));
  const Tensor lengths = detail::dense(key_lengths);
  const std::int64_t* first = lengths.data<std::int64_t>();
  return attention(q, k, v, scale, std::span<const std::int64_t>(first, first + lengths.numel()));
}

}  // namespace sieve::ops
