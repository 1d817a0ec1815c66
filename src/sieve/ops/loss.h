#pragma once

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

inline constexpr std::int64_t kIgnoreIndex = -100;

// Mean cross-entropy of logits [N, V] against int64 targets [N], fused with log-softmax;
// rows whose target is kIgnoreIndex are skipped. Returns a one-element tensor.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets);

}  // namespace sieve::ops
