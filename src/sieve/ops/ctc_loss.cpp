// ctc_loss: the kernel (kernels/cpu/ctc.h) computes each sequence's loss and its gradient in one
// forward-backward pass; the backward only scales that saved gradient. Letters: B batch,
// T frames, V classes, U labels.
#include "sieve/ops/ctc_loss.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/ctc.h"
#include "sieve/ops/op_support.h"

namespace sieve::ops {

Tensor ctc_loss(const Tensor& logits, const Tensor& targets, std::span<const std::int64_t> input_lengths,
                std::span<const std::int64_t> target_lengths, std::int64_t blank) {
  const char* op = "ctc_loss";
  auto shape_of = [](const Tensor& t) { return t.defined() ? core::shape_string(t.shape()) : std::string("undefined"); };
  SIEVE_CHECK(logits.defined() && logits.dim() == 3 && logits.dtype() == core::DType::f32,
              "{}: logits must be f32 [B, T, V], got {}", op, shape_of(logits));
  const std::int64_t B = logits.size(0), T = logits.size(1), V = logits.size(2);
  SIEVE_CHECK(targets.defined() && targets.dim() == 2 && targets.size(0) == B && targets.dtype() == core::DType::i64,
              "{}: targets must be int64 [B={}, U], got {}", op, B, shape_of(targets));
  const std::int64_t U = targets.size(1);
  SIEVE_CHECK(blank >= 0 && blank < V, "{}: blank {} must be a class in [0, V = {})", op, blank, V);
  SIEVE_CHECK(std::ssize(input_lengths) == B && std::ssize(target_lengths) == B,
              "{}: needs {} input lengths and {} target lengths, got {} and {}", op, B, B, input_lengths.size(),
              target_lengths.size());
  const Tensor tc = detail::dense(targets);  // [B, U]
  const std::int64_t* label = tc.data<std::int64_t>();
  for (std::int64_t b = 0; b < B; ++b) {
    SIEVE_CHECK(input_lengths[b] >= 1 && input_lengths[b] <= T, "{}: input_lengths[{}] = {} must be in [1, T = {}]", op,
                b, input_lengths[b], T);
    SIEVE_CHECK(target_lengths[b] >= 0 && target_lengths[b] <= U, "{}: target_lengths[{}] = {} must be in [0, U = {}]",
                op, b, target_lengths[b], U);
    for (std::int64_t u = 0; u < target_lengths[b]; ++u) {
      const std::int64_t k = label[b * U + u];
      SIEVE_CHECK(k >= 0 && k < V && k != blank,
                  "{}: targets[{}, {}] = {} must be a class in [0, {}) other than blank {}", op, b, u, k, V, blank);
    }
  }
  const std::vector<std::int64_t> frames(input_lengths.begin(), input_lengths.end());
  const std::vector<std::int64_t> labels(target_lengths.begin(), target_lengths.end());
  const Tensor lc = detail::dense(logits);  // [B, T, V]
  std::vector<double> losses(static_cast<std::size_t>(B));
  Tensor grad = Tensor::empty({B, T, V});  // d losses[b] / d logits[b]
  kernels::cpu::ctc_loss_forward_backward(kernels::cpu::CtcShape{B, T, V, U, blank}, lc.data<float>(), label,
                                          frames.data(), labels.data(), losses.data(), grad.data<float>());
  // weight[b] = 1 / (B · max(target_lengths[b], 1)): the mean reduction
  std::vector<float> weight(static_cast<std::size_t>(B));
  double total = 0.0;
  for (std::int64_t b = 0; b < B; ++b) {
    const double w = 1.0 / (static_cast<double>(B) * static_cast<double>(std::max<std::int64_t>(labels[b], 1)));
    weight[b] = static_cast<float>(w);
    total += losses[b] * w;
  }
  Tensor out = Tensor::from_vector(std::vector<float>{static_cast<float>(total)}, {1});
  if (autograd::needs_grad({&logits})) {
    autograd::record(out, op, {&logits}, [=](const Tensor& dout) -> std::vector<Tensor> {
      const float g = detail::dense(dout).data<float>()[0];
      Tensor dlogits = Tensor::empty({B, T, V});  // [B, T, V]
      const float* src = grad.data<float>();
      float* dst = dlogits.data<float>();
      for (std::int64_t b = 0; b < B; ++b) {
        const float scale = g * weight[b];
        for (std::int64_t i = b * T * V; i < (b + 1) * T * V; ++i) dst[i] = src[i] * scale;
      }
      return {dlogits};
    });
  }
  return out;
}

}  // namespace sieve::ops
