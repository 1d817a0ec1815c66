// CTC loss for speech-to-text without frame-level alignments. Letters: B batch, T frames,
// V classes (the blank included), U labels.
#pragma once

#include <cstdint>
#include <span>

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

// logits [B, T, V] f32 (unnormalised: log-softmax over V is applied inside), targets [B, U]
// int64 (row b: target_lengths[b] labels in [0, V) other than `blank`, then padding),
// input_lengths in [1, T] and target_lengths in [0, U], B of each. Returns [1]: PyTorch's
// ctc_loss with reduction "mean" —
//   mean over b of  −log P(target_b | logits_b[0 : input_lengths[b]]) / max(target_lengths[b], 1)
// — and, like its zero_infinity = true, a sequence whose target cannot fit its frames adds 0 to
// the loss and the gradient. Differentiable in logits (gradient 0 on frames past the input length).
Tensor ctc_loss(const Tensor& logits, const Tensor& targets, std::span<const std::int64_t> input_lengths,
                std::span<const std::int64_t> target_lengths, std::int64_t blank = 0);

}  // namespace sieve::ops
