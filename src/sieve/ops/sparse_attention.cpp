#include "sieve/ops/sparse_attention.h"

#include <algorithm>
#include <bit>
#include <memory>

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/sparse_attention.h"
#include "sieve/kernels/cpu/sparse_attention_plan.h"
#include "sieve/ops/op_support.h"
#include "sieve/ops/precision_cast.h"

namespace sieve::ops {

std::int64_t lsh_bucket_count(const SparseAttentionParams& params, std::int64_t tokens) {
  if (params.lsh_buckets > 0) return params.lsh_buckets;
  const std::int64_t per_bucket = std::max<std::int64_t>(1, params.lsh_keys);
  const auto target = static_cast<std::uint64_t>(std::clamp<std::int64_t>(tokens / per_bucket, 2, kMaxAutoBuckets));
  const std::uint64_t below = std::bit_floor(target), above = std::bit_ceil(target);
  return static_cast<std::int64_t>(target - below <= above - target ? below : above);
}

kernels::cpu::SparseAttentionShape sparse_attention_shape(const SparseAttentionParams& params, std::int64_t batch,
                                                          std::int64_t tokens, std::int64_t heads,
                                                          std::int64_t kv_heads, std::int64_t head_dim, float scale) {
  kernels::cpu::SparseAttentionShape shape{};
  shape.batch = batch;
  shape.tokens = tokens;
  shape.heads = heads;
  shape.kv_heads = kv_heads;
  shape.head_dim = head_dim;
  shape.window = params.window;
  shape.lsh_keys = params.lsh_keys;
  shape.rounds = params.lsh_rounds;
  shape.buckets = params.lsh_rounds > 0 ? lsh_bucket_count(params, tokens) : 0;
  shape.global_cap = params.global_cap;
  shape.scale = scale;
  return shape;
}

Tensor sparse_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& scores,
                        const Tensor& key_bias, const Tensor& rotations, const SparseAttentionParams& params,
                        float scale) {
  SIEVE_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4 && k.shape() == v.shape(),
              "sparse_attention: q [B, T, H, D], k and v [B, T, Hkv, D] expected; got {}, {}, {}",
              core::shape_string(q.shape()), core::shape_string(k.shape()), core::shape_string(v.shape()));
  const std::int64_t B = q.size(0), T = q.size(1), H = q.size(2), D = q.size(3), Hkv = k.size(2);
  SIEVE_CHECK(k.size(0) == B && k.size(1) == T && k.size(3) == D && H % Hkv == 0,
              "sparse_attention: q {} and k {} disagree (same B, T, D; H divisible by Hkv)",
              core::shape_string(q.shape()), core::shape_string(k.shape()));
  SIEVE_CHECK(scores.shape() == (core::Shape{B, T}) && key_bias.shape() == (core::Shape{B, T}),
              "sparse_attention: scores and key_bias must be [B={}, T={}], got {} and {}", B, T,
              core::shape_string(scores.shape()), core::shape_string(key_bias.shape()));
  for (const Tensor* t : {&q, &k, &v, &scores, &key_bias})
    SIEVE_CHECK(t->dtype() == core::DType::f32, "sparse_attention: f32 tensors expected, got {}",
                core::dtype_name(t->dtype()));
  const std::int64_t buckets = params.lsh_rounds > 0 ? lsh_bucket_count(params, T) : 0;
  if (params.lsh_rounds > 0)
    SIEVE_CHECK(rotations.shape() == (core::Shape{params.lsh_rounds, Hkv, D, buckets / 2}),
                "sparse_attention: rotations must be [R={}, Hkv={}, D={}, NBk/2={}], got {}", params.lsh_rounds, Hkv,
                D, buckets / 2, core::shape_string(rotations.shape()));

  const kernels::cpu::SparseAttentionShape shape = sparse_attention_shape(params, B, T, H, Hkv, D, scale);

  // The precision policy as in causal_attention: operands on the compute dtype's grid (the plan
  // hashes those same values), saved tensors in the storage dtype, fp16 results rounded.
  const PrecisionPolicy policy = current_precision();
  const Tensor qc = detail::round_to_compute(detail::dense(q), policy.compute);  // [B, T, H, D]
  const Tensor kc = detail::round_to_compute(detail::dense(k), policy.compute);  // [B, T, Hkv, D]
  const Tensor vc = detail::round_to_compute(detail::dense(v), policy.compute);  // [B, T, Hkv, D]
  const Tensor sc = detail::dense(scores), bc = detail::dense(key_bias);
  const Tensor rc = params.lsh_rounds > 0 ? detail::dense(rotations) : Tensor();
  // The plan lives as long as the graph node that needs it for backward.
  auto plan = std::make_shared<kernels::cpu::SparseAttentionPlanData>(kernels::cpu::build_sparse_attention_plan(
      shape, {.threshold = params.threshold, .keep_ratio = params.keep_ratio}, sc.data<float>(), bc.data<float>(),
      qc.data<float>(), kc.data<float>(), rc.defined() ? rc.data<float>() : nullptr));

  Tensor out = Tensor::empty(q.shape());  // [B, T, H, D]
  const bool record = autograd::needs_grad({&q, &k, &v, &key_bias});
  Tensor lse = record ? Tensor::empty({B, H, T}) : Tensor();  // [B, H, T]
  kernels::cpu::sparse_attention_forward(core::DType::f32, shape, plan->view(), qc.raw_data(), kc.raw_data(),
                                         vc.raw_data(), out.raw_data(), record ? lse.data<float>() : nullptr);
  detail::round_result(out, policy.compute);
  if (record) {
    const bool need_bias = key_bias.requires_grad();
    const core::DType store = policy.activation_storage;
    const Tensor qs = detail::cast_to(qc, store).detach(), ks = detail::cast_to(kc, store).detach();
    const Tensor vs = detail::cast_to(vc, store).detach();
    // As in causal_attention: out is on the compute grid only under fp16.
    const Tensor outs = (policy.compute == ComputePrecision::f16 ? detail::cast_to(out, store) : out).detach();
    autograd::record(out, "sparse_attention", {&q, &k, &v, &key_bias},
                     [=](const Tensor& dout) -> std::vector<Tensor> {
                       const Tensor dc = detail::round_to_compute(detail::dense(dout), policy.compute);
                       const auto f32 = [](const Tensor& t) { return detail::cast_to(t, core::DType::f32); };
                       const Tensor qr = f32(qs), kr = f32(ks), vr = f32(vs), outr = f32(outs);
                       Tensor dq = Tensor::empty(qr.shape()), dk = Tensor::empty(kr.shape());
                       Tensor dv = Tensor::empty(vr.shape());
                       Tensor dbias = need_bias ? Tensor::empty({B, T}) : Tensor();  // [B, T]
                       kernels::cpu::sparse_attention_backward(
                           core::DType::f32, shape, plan->view(), qr.raw_data(), kr.raw_data(), vr.raw_data(),
                           outr.raw_data(), lse.data<float>(), dc.raw_data(), dq.raw_data(), dk.raw_data(),
                           dv.raw_data(), need_bias ? dbias.data<float>() : nullptr);
                       for (const Tensor* grad : {&dq, &dk, &dv}) detail::round_result(*grad, policy.compute);
                       return {dq, dk, dv, dbias};
                     });
  }
  return out;
}

}  // namespace sieve::ops
