#pragma once

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

inline constexpr std::int64_t kIgnoreIndex = -100;

// Mean cross-entropy of logits [N, V] against int64 targets [N], fused with log-softmax;
// rows whose target is kIgnoreIndex are skipped. Returns a one-element tensor.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets);

// Knowledge distillation (Hinton et al.). Letters: N rows, V vocabulary; p_·,T = softmax(logits / T).
// The teacher's logits are constants: passing teacher logits that require grad is an error.
//
// distillation_kl: mean over the N rows (every row counts: no ignore index) of KL(p_teacher,T ‖ p_student,T), for f32 [N, V] logits
// and a temperature T > 0. Gradient (p_student,T − p_teacher,T) / (N·T) to the student's logits.
Tensor distillation_kl(const Tensor& student_logits, const Tensor& teacher_logits, float temperature);
// α·T²·distillation_kl(student, teacher, T) + (1 − α)·cross_entropy(student, targets), α in [0, 1]
// (T² keeps the soft term's gradient on the scale of the hard one's as T grows). At α = 0 it is
// cross_entropy itself, bit for bit, and at α = 1 the soft term alone: the other is not computed.
// `parts` (may be null) receives the values of the two terms before weighting — the KL at T and
// the cross-entropy — NaN for a term not computed.
struct DistillationParts {
  double kl = 0.0;
  double cross_entropy = 0.0;
};
Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits, const Tensor& targets,
                         float alpha, float temperature, DistillationParts* parts = nullptr);

// Mean binary cross-entropy of f32 logits s against soft targets y in [0, 1] of the same shape
// (any shape, N elements): mean(softplus(s) − y·s), which is −y·log σ(s) − (1−y)·log(1 − σ(s))
// computed without overflow. Gradient (σ(s) − y)/N to the logits; the targets are data and get
// none (passing targets that require grad is an error). Returns a one-element tensor; no
// elements give NaN, like a mean over nothing.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets);
// The weighted mean Σ w·ℓ / Σ w of the same per-element loss ℓ, for f32 weights w >= 0 of the
// logits' shape (data: no gradient; they must not all be 0). Gradient w·(σ(s) − y)/Σ w.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets, const Tensor& weights);

}  // namespace sieve::ops
