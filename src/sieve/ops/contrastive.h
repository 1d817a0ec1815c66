// Contrastive alignment of two embeddings of the same N items (image ↔ caption, audio ↔ text).
// Letters: N pairs, C features.
#pragma once

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

// CLIP's symmetric InfoNCE loss. a, b [N, C]: row i of a and row i of b are a pair, every other
// row of the batch a negative. log_temperature [1] is the learned log of the logit scale:
//   â, b̂ = rows L2-normalised (x / max(|x|, 1e-12));  s = exp(min(log_temperature, ln 100))
//   logits = s · â b̂ᵀ  [N, N]
//   loss = ½ (mean_i CE(logits[i, :], i) + mean_i CE(logits[:, i], i))   (a → b and b → a)
// The clamp keeps the scale at most 100 (CLIP clamps it there too; with a scale past that
// training becomes unstable); where it applies, log_temperature gets zero gradient, as through
// torch.clamp. CLIP starts log_temperature at ln(1/0.07). Differentiable in a, b and
// log_temperature; returns a one-element tensor. All f32; N >= 1.
Tensor contrastive_loss(const Tensor& a, const Tensor& b, const Tensor& log_temperature);

}  // namespace sieve::ops
