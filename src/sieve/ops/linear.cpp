// Matrix products. Letters: N rows (tokens), K input features (the contracted dimension),
// M output features, Bt the flattened batch of leading dimensions. Every product is one
// kernels::cpu::matmul call; transposes are GEMM flags, never copies. f32 operands follow the
// thread's precision policy (NOTE [Precision policy] in precision.h): they are prepared in the
// compute dtype, saved in the storage dtype, and backward computes as its forward did.
#include "sieve/ops/linear.h"

#include <algorithm>
#include <span>

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/matmul.h"
#include "sieve/kernels/cpu/reduce.h"
#include "sieve/ops/op_support.h"
#include "sieve/ops/precision_cast.h"

namespace sieve::ops {
namespace {

using core::DType;
using core::Shape;
using kernels::cpu::MatmulSpec;

MatmulSpec gemm(DType a, DType b, DType c, std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t k) {
  MatmulSpec spec;
  spec.a_dtype = a;
  spec.b_dtype = b;
  spec.c_dtype = c;
  spec.batch = batch;
  spec.m = m;
  spec.n = n;
  spec.k = k;
  return spec;
}

// The policy an op applies: the thread's, for f32 operands; tensors of another dtype go to the
// kernels as they are.
PrecisionPolicy policy_for(const Tensor& a, const Tensor& b) {
  return a.dtype() == DType::f32 && b.dtype() == DType::f32 ? current_precision() : PrecisionPolicy{};
}

// The dtype the kernels see for operands of dtype `given` under `policy`.
DType operand_dtype(DType given, const PrecisionPolicy& policy) {
  return given == DType::f32 ? detail::gemm_dtype(policy.compute) : given;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  SIEVE_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul: both operands need at least 2 dimensions, got {} and {}",
              core::shape_string(a.shape()), core::shape_string(b.shape()));
  const std::int64_t N = a.size(-2), K = a.size(-1), M = b.size(-1);
  SIEVE_CHECK(b.size(-2) == K, "matmul: inner dimensions differ: a {} · b {}", core::shape_string(a.shape()),
              core::shape_string(b.shape()));
  const bool shared_b = b.dim() == 2;  // one [K, M] for every batch
  SIEVE_CHECK(shared_b || (b.dim() == a.dim() && std::equal(a.shape().begin(), a.shape().end() - 2, b.shape().begin())),
              "matmul: leading dimensions of a {} and b {} must match (or b must be 2-D)",
              core::shape_string(a.shape()), core::shape_string(b.shape()));
  detail::check_same_dtype(a, b, "matmul");
  const PrecisionPolicy policy = policy_for(a, b);
  const DType op = operand_dtype(a.dtype(), policy);
  const bool record = autograd::needs_grad({&a, &b});
  const bool need_a = record && a.requires_grad(), need_b = record && b.requires_grad();
  // da needs b and db needs a: keep only what the requested gradients use.
  const detail::PreparedOperand ap = detail::prepare_operand(detail::dense(a), policy, need_b);  // [Bt, N, K]
  const detail::PreparedOperand bp = detail::prepare_operand(detail::dense(b), policy, need_a);  // [Bt, K, M] or [K, M]
  const std::int64_t batch = core::shape_numel(std::span(a.shape()).first(a.shape().size() - 2));  // Bt
  Shape out_shape = a.shape();
  out_shape.back() = M;
  Tensor out = Tensor::empty(out_shape, a.dtype());  // [Bt, N, M]
  // A shared b folds the batch into the rows: one [Bt·N, K] · [K, M] GEMM.
  MatmulSpec spec = shared_b ? gemm(op, op, a.dtype(), 1, batch * N, M, K) : gemm(op, op, a.dtype(), batch, N, M, K);
  kernels::cpu::matmul(spec, ap.compute.raw_data(), bp.compute.raw_data(), out.raw_data());
  detail::round_result(out, policy.compute);

  if (record) {
    const Tensor as = need_b ? ap.saved.detach() : Tensor();
    const Tensor bs = need_a ? bp.saved.detach() : Tensor();
    const Shape a_shape = a.shape(), b_shape = b.shape();
    const DType a_dtype = a.dtype(), b_dtype = b.dtype();
    autograd::record(out, "matmul", {&a, &b}, [=](const Tensor& dy) -> std::vector<Tensor> {
      const Tensor dyc = detail::prepare_operand(detail::dense(dy), {policy.compute}, false).compute;  // [Bt, N, M]
      Tensor da, db;
      if (need_a) {
        // da [Bt, N, K] = dy [Bt, N, M] · bᵀ, b stored [K, M] = the trans_b layout.
        da = Tensor::empty(a_shape, a_dtype);
        MatmulSpec s = shared_b ? gemm(op, op, a_dtype, 1, batch * N, K, M) : gemm(op, op, a_dtype, batch, N, K, M);
        s.trans_b = true;
        kernels::cpu::matmul(s, dyc.raw_data(), detail::restore_operand(bs, policy.compute).raw_data(), da.raw_data());
        detail::round_result(da, policy.compute);
      }
      if (need_b) {
        // db [K, M] = aᵀ · dy, a stored [rows, K] = the trans_a layout; a shared b sums over
        // the batch by contracting over all Bt·N rows at once.
        db = Tensor::empty(b_shape, b_dtype);
        MatmulSpec s = shared_b ? gemm(op, op, b_dtype, 1, K, M, batch * N) : gemm(op, op, b_dtype, batch, K, M, N);
        s.trans_a = true;
        kernels::cpu::matmul(s, detail::restore_operand(as, policy.compute).raw_data(), dyc.raw_data(), db.raw_data());
        detail::round_result(db, policy.compute);
      }
      return {da, db};
    });
  }
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  SIEVE_CHECK(weight.dim() == 2, "linear: weight must be [M, K], got {}", core::shape_string(weight.shape()));
  const std::int64_t M = weight.size(0), K = weight.size(1);
  SIEVE_CHECK(x.dim() >= 1 && x.size(-1) == K, "linear: x {} must end in K = {} to match weight {}",
              core::shape_string(x.shape()), K, core::shape_string(weight.shape()));
  if (bias.defined()) {
    SIEVE_CHECK(bias.dim() == 1 && bias.size(0) == M, "linear: bias must be [{}] for weight {}, got {}", M,
                core::shape_string(weight.shape()), core::shape_string(bias.shape()));
    detail::check_same_dtype(x, bias, "linear");
  }
  const std::int64_t N = K == 0 ? core::shape_numel(std::span(x.shape()).first(x.shape().size() - 1)) : x.numel() / K;
  const PrecisionPolicy policy = policy_for(x, weight);
  const DType op = operand_dtype(x.dtype(), policy);
  const bool record = autograd::needs_grad({&x, &weight, &bias});
  const bool need_x = record && x.requires_grad(), need_w = record && weight.requires_grad();
  const bool need_b = record && bias.defined() && bias.requires_grad();
  // dW needs x (saved in the storage dtype). dx needs the weight, which backward prepares again
  // from the parameter itself rather than keeping a cast copy of every weight alive.
  const detail::PreparedOperand xp = detail::prepare_operand(detail::dense(x), policy, need_w);  // [N, K]
  const Tensor wc = detail::dense(weight);                                                     // [M, K]
  Shape out_shape = x.shape();
  out_shape.back() = M;
  MatmulSpec spec = gemm(op, operand_dtype(weight.dtype(), policy), x.dtype(), 1, N, M, K);
  spec.trans_b = true;  // weight [M, K] is Wᵀ's trans_b layout
  Tensor y;
  if (bias.defined()) {
    // Start from the bias broadcast over the rows and let the GEMM accumulate onto it.
    y = detail::broadcast_to(bias, {N, M}).view(out_shape);  // [N, M]
    spec.accumulate = true;
  } else {
    y = Tensor::empty(out_shape, x.dtype());
  }
  kernels::cpu::matmul(spec, xp.compute.raw_data(), detail::prepare_operand(wc, policy, false).compute.raw_data(),
                       y.raw_data());
  detail::round_result(y, policy.compute);

  if (record) {
    const Tensor xs = need_w ? xp.saved.detach() : Tensor();
    const Tensor ws = need_x ? wc.detach() : Tensor();
    const Shape x_shape = x.shape();
    const DType x_dtype = x.dtype(), w_dtype = weight.dtype();
    autograd::record(y, "linear", {&x, &weight, &bias}, [=](const Tensor& dy) -> std::vector<Tensor> {
      const Tensor dy_dense = detail::dense(dy);                                                // [N, M]
      const Tensor dyc = detail::prepare_operand(dy_dense, {policy.compute}, false).compute;  // [N, M]
      Tensor dx, dw, db;
      if (need_x) {
        // dx [N, K] = dy [N, M] · W [M, K]
        dx = Tensor::empty(x_shape, x_dtype);
        const Tensor wp = detail::prepare_operand(ws, policy, false).compute;
        kernels::cpu::matmul(gemm(op, op, x_dtype, 1, N, K, M), dyc.raw_data(), wp.raw_data(), dx.raw_data());
        detail::round_result(dx, policy.compute);
      }
      if (need_w) {
        // dW [M, K] = dyᵀ [M, N] · x [N, K]; dy stored [N, M] is the trans_a layout.
        dw = Tensor::empty({M, K}, w_dtype);
        MatmulSpec s = gemm(op, op, w_dtype, 1, M, K, N);
        s.trans_a = true;
        kernels::cpu::matmul(s, dyc.raw_data(), detail::restore_operand(xs, policy.compute).raw_data(), dw.raw_data());
        detail::round_result(dw, policy.compute);
      }
      if (need_b) {
        db = Tensor::empty({M});  // [M] = Σ_rows dy, in f32 whatever the policy
        kernels::cpu::sum_rows(dy_dense.dtype(), N, M, dy_dense.raw_data(), db.data<float>(), false);
      }
      return {dx, dw, db};
    });
  }
  return y;
}

}  // namespace sieve::ops
