// Connectionist temporal classification (Graves et al. 2006) on the CPU: the loss of each
// sequence and its gradient with respect to the logits, by the forward-backward recursions in
// log space. Letters: B batch, T frames, V classes (blank included), U target labels,
// L = 2·U + 1 states of the blank-extended target.
#pragma once

#include <cstdint>

namespace sieve::kernels::cpu {

struct CtcShape {
  std::int64_t batch, frames, classes, max_target;  // B, T, V, U
  std::int64_t blank;                               // class index of the blank, in [0, V)
};

// logits [B, T, V] f32 (log-softmax is applied here, over V); targets [B, U] int64, row b
// holding target_lengths[b] labels in [0, V) \ {blank} then anything; input_lengths [B] in
// [1, T]; target_lengths [B] in [0, U] (all checked by the caller). For each b:
//   losses[b] = −log Σ_{paths π of length input_lengths[b] that collapse to the target} Π_t p_t(π_t)
// and grad [B, T, V] = d losses[b] / d logits[b] = softmax(logits[b, t]) − posterior occupancy
// for t < input_lengths[b], 0 after. A target no path of that length can produce (too long for
// its frames) gives loss 0 and gradient 0 (PyTorch's zero_infinity). Parallel over B.
void ctc_loss_forward_backward(const CtcShape& shape, const float* logits, const std::int64_t* targets,
                               const std::int64_t* input_lengths, const std::int64_t* target_lengths, double* losses,
                               float* grad);

}  // namespace sieve::kernels::cpu
