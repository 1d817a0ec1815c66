#pragma once

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

inline constexpr std::int64_t kIgnoreIndex = -100;

// Mean cross-entropy of logits [N, V] against int64 targets [N], fused with log-softmax;
// rows whose target is kIgnoreIndex are skipped. Returns a one-element tensor.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets);

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
