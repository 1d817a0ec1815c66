// Cross-entropy fused with log-softmax. Letters: N rows (e.g. B·T), V vocabulary.
// The forward saves each row's logsumexp and the count of scored rows, so backward rebuilds
// softmax from the logits without a second reduction.
// The distillation divergence saves both rows' logsumexp at the temperature; backward rebuilds
// both softmaxes from the logits (kernels/cpu/distillation_kl.h).
// Binary cross-entropy with logits against soft targets: N elements, a plain loop here (it
// scores one logit per token, far too little work for a kernel of its own).
#include "sieve/ops/loss.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/cross_entropy.h"
#include "sieve/kernels/cpu/distillation_kl.h"
#include "sieve/ops/arithmetic.h"
#include "sieve/ops/op_support.h"

namespace sieve::ops {

static_assert(kIgnoreIndex == kernels::cpu::kCrossEntropyIgnoreIndex, "ops and kernels disagree on the ignore index");

Tensor cross_entropy(const Tensor& logits, const Tensor& targets) {
  SIEVE_CHECK(logits.dim() == 2, "cross_entropy: logits must be [N, V], got {}", core::shape_string(logits.shape()));
  SIEVE_CHECK(targets.dim() == 1 && targets.size(0) == logits.size(0),
              "cross_entropy: targets must be [N] = [{}] for logits {}, got {}", logits.size(0),
              core::shape_string(logits.shape()), core::shape_string(targets.shape()));
  SIEVE_CHECK(targets.dtype() == core::DType::i64, "cross_entropy: targets must be i64, got {}",
              core::dtype_name(targets.dtype()));
  detail::check_floating(logits, "cross_entropy");
  const std::int64_t N = logits.size(0), V = logits.size(1);
  const Tensor lc = detail::dense(logits);   // [N, V]
  const Tensor tc = detail::dense(targets);  // [N]
  const bool record = autograd::needs_grad({&logits});
  Tensor lse = record ? Tensor::empty({N}) : Tensor();  // [N]
  std::int64_t count = 0;
  const float loss = kernels::cpu::cross_entropy_forward(logits.dtype(), N, V, lc.raw_data(), tc.data<std::int64_t>(),
                                                         record ? lse.data<float>() : nullptr, &count);
  Tensor out = Tensor::full({}, loss);
  if (record) {
    const Tensor ls = lc.detach(), ts = tc.detach();
    autograd::record(out, "cross_entropy", {&logits}, [=](const Tensor& dy) -> std::vector<Tensor> {
      Tensor dlogits = Tensor::empty(ls.shape(), ls.dtype());  // [N, V]
      kernels::cpu::cross_entropy_backward(ls.dtype(), N, V, ls.raw_data(), ts.data<std::int64_t>(), lse.data<float>(),
                                           static_cast<float>(dy.item()), count, dlogits.raw_data());
      return {dlogits};
    });
  }
  return out;
}

Tensor distillation_kl(const Tensor& student_logits, const Tensor& teacher_logits, float temperature) {
  SIEVE_CHECK(student_logits.dim() == 2 && teacher_logits.shape() == student_logits.shape(),
              "distillation_kl: student and teacher logits must both be [N, V], got {} and {}",
              core::shape_string(student_logits.shape()), core::shape_string(teacher_logits.shape()));
  SIEVE_CHECK(student_logits.dtype() == core::DType::f32 && teacher_logits.dtype() == core::DType::f32,
              "distillation_kl: logits must be f32, got {} and {}", core::dtype_name(student_logits.dtype()),
              core::dtype_name(teacher_logits.dtype()));
  SIEVE_CHECK(!teacher_logits.requires_grad(),
              "distillation_kl: the teacher's logits must not require grad (they get no gradient)");
  SIEVE_CHECK(std::isfinite(temperature) && temperature > 0.0f, "distillation_kl: temperature must be > 0, got {}",
              temperature);
  const std::int64_t N = student_logits.size(0), V = student_logits.size(1);
  const Tensor sc = detail::dense(student_logits);  // [N, V]
  const Tensor tc = detail::dense(teacher_logits);  // [N, V]
  Tensor student_lse = Tensor::empty({N}), teacher_lse = Tensor::empty({N});  // [N]
  const float kl = kernels::cpu::distillation_kl_forward(N, V, sc.data<float>(), tc.data<float>(), temperature,
                                                         student_lse.data<float>(), teacher_lse.data<float>());
  Tensor out = Tensor::full({}, kl);
  if (autograd::needs_grad({&student_logits})) {
    const Tensor ss = sc.detach(), ts = tc.detach();
    autograd::record(out, "distillation_kl", {&student_logits}, [=](const Tensor& dy) -> std::vector<Tensor> {
      Tensor dstudent = Tensor::empty(ss.shape());  // [N, V]
      kernels::cpu::distillation_kl_backward(N, V, ss.data<float>(), ts.data<float>(), temperature,
                                             student_lse.data<float>(), teacher_lse.data<float>(),
                                             static_cast<float>(dy.item()), dstudent.data<float>());
      return {dstudent};
    });
  }
  return out;
}

Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits, const Tensor& targets,
                         float alpha, float temperature, DistillationParts* parts) {
  SIEVE_CHECK(alpha >= 0.0f && alpha <= 1.0f, "distillation_loss: alpha must be in [0, 1], got {}", alpha);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor soft, hard;
  if (alpha > 0.0f) soft = distillation_kl(student_logits, teacher_logits, temperature);
  if (alpha < 1.0f) hard = cross_entropy(student_logits, targets);
  if (parts != nullptr) *parts = {soft.defined() ? soft.item() : nan, hard.defined() ? hard.item() : nan};
  if (!soft.defined()) return hard;
  soft = scale(soft, alpha * temperature * temperature);
  if (!hard.defined()) return soft;
  return add(soft, scale(hard, 1.0f - alpha));
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets) {
  return binary_cross_entropy_with_logits(logits, targets, Tensor());
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets, const Tensor& weights) {
  SIEVE_CHECK(logits.shape() == targets.shape(),
              "binary_cross_entropy_with_logits: targets {} must have the logits' shape {}",
              core::shape_string(targets.shape()), core::shape_string(logits.shape()));
  SIEVE_CHECK(logits.dtype() == core::DType::f32 && targets.dtype() == core::DType::f32,
              "binary_cross_entropy_with_logits: logits and targets must be f32, got {} and {}",
              core::dtype_name(logits.dtype()), core::dtype_name(targets.dtype()));
  SIEVE_CHECK(!targets.requires_grad(),
              "binary_cross_entropy_with_logits: targets must not require grad (they get no gradient)");
  const bool weighted = weights.defined();
  SIEVE_CHECK(!weighted || (weights.shape() == logits.shape() && weights.dtype() == core::DType::f32 &&
                            !weights.requires_grad()),
              "binary_cross_entropy_with_logits: weights must be f32 data of the logits' shape {}",
              core::shape_string(logits.shape()));
  const std::int64_t N = logits.numel();
  const Tensor lc = detail::dense(logits);   // [N]
  const Tensor tc = detail::dense(targets);  // [N]
  const Tensor wc = weighted ? detail::dense(weights) : Tensor();  // [N]
  const float* s = lc.data<float>();
  const float* y = tc.data<float>();
  const float* w = weighted ? wc.data<float>() : nullptr;
  // softplus(s) = max(s, 0) + log1p(exp(−|s|)): no overflow for any s. Summed in double.
  double total = 0.0, weight_sum = 0.0;
  for (std::int64_t i = 0; i < N; ++i) {
    const double si = s[i], wi = weighted ? double(w[i]) : 1.0;
    total += wi * (std::max(si, 0.0) + std::log1p(std::exp(-std::abs(si))) - double(y[i]) * si);
    weight_sum += wi;
  }
  SIEVE_CHECK(N == 0 || weight_sum > 0.0, "binary_cross_entropy_with_logits: the weights sum to {}", weight_sum);
  Tensor out = Tensor::full({}, N > 0 ? static_cast<float>(total / weight_sum) : std::numeric_limits<float>::quiet_NaN());
  if (autograd::needs_grad({&logits})) {
    const Tensor ls = lc.detach(), ts = tc.detach(), ws = weighted ? wc.detach() : Tensor();
    autograd::record(out, "binary_cross_entropy_with_logits", {&logits},
                     [ls, ts, ws, N, weight_sum](const Tensor& dy) -> std::vector<Tensor> {
                       const double factor = dy.item() / weight_sum;
                       Tensor dlogits = Tensor::empty(ls.shape());  // [N]
                       const float* s = ls.data<float>();
                       const float* y = ts.data<float>();
                       const float* w = ws.defined() ? ws.data<float>() : nullptr;
                       float* g = dlogits.data<float>();
                       for (std::int64_t i = 0; i < N; ++i) {
                         const double sigmoid = 1.0 / (1.0 + std::exp(-double(s[i])));
                         g[i] = static_cast<float>((w != nullptr ? double(w[i]) : 1.0) * (sigmoid - double(y[i])) * factor);
                       }
                       return {dlogits};
                     });
  }
  return out;
}

}  // namespace sieve::ops
