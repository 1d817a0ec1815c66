// Cross-entropy fused with log-softmax. Letters: N rows (e.g. B·T), V vocabulary.
// The forward saves each row's logsumexp and the count of scored rows, so backward rebuilds
// softmax from the logits without a second reduction.
#include "sieve/ops/loss.h"

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/cross_entropy.h"
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

}  // namespace sieve::ops
