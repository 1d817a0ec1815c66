// Fused log-softmax + negative log-likelihood (cross-entropy) over a vocabulary, forward and
// backward, with PyTorch's defaults: mean over the rows whose target is not ignore_index (-100).
//
// Shapes: N = rows (e.g. B*T), V = vocab.
//   logits, dlogits : [N, V] of `dtype`, contiguous row-major
//   targets         : [N] int64, each in [0, V) or kCrossEntropyIgnoreIndex
//   lse             : [N] f32, logsumexp of each row, saved by the forward for the backward
// Only f32 is implemented; other dtypes throw core::Error naming the dtype. A target outside
// [0, V) that is not the ignore index throws core::Error naming the row, the target and V.
// Rows are reduced with a vectorised exp (~1 ulp) into f32 partial sums; the mean is summed in
// double, in row order, so the loss does not depend on the thread count.
#pragma once

#include <cstdint>

#include "sieve/core/dtype.h"

namespace sieve::kernels::cpu {

inline constexpr std::int64_t kCrossEntropyIgnoreIndex = -100;

// Returns mean_r (lse[r] - logits[r, targets[r]]) over the non-ignored rows; NaN when every row
// is ignored (0/0, as PyTorch). lse (may be null) receives every row's logsumexp, ignored rows
// included; count_out (may be null) receives the number of non-ignored rows.
float cross_entropy_forward(core::DType dtype, std::int64_t N, std::int64_t V, const void* logits,
                            const std::int64_t* targets, float* lse, std::int64_t* count_out);

// dlogits[r] = dloss / count * (softmax(logits[r]) - onehot(targets[r])) for non-ignored rows,
// 0 for ignored rows (and everywhere when count == 0). dloss is the upstream gradient of the
// mean loss; lse and count come from the forward. dlogits may alias logits (in place).
void cross_entropy_backward(core::DType dtype, std::int64_t N, std::int64_t V, const void* logits,
                            const std::int64_t* targets, const float* lse, float dloss, std::int64_t count,
                            void* dlogits);

// Forward and backward in one sweep over the logits, for training, where the upstream gradient
// dloss is known before the forward (1, or a loss-scale / accumulation factor). Returns the
// loss and fills lse and count_out exactly as cross_entropy_forward (bit-identical), and writes
// dlogits as cross_entropy_backward would with this dloss (equal to within rounding). Reads
// the logits from memory once instead of twice and computes each exp once; dlogits may alias
// logits, which also saves the memory traffic of a separate output.
float cross_entropy_forward_backward(core::DType dtype, std::int64_t N, std::int64_t V, const void* logits,
                                     const std::int64_t* targets, float dloss, void* dlogits, float* lse,
                                     std::int64_t* count_out);

}  // namespace sieve::kernels::cpu
