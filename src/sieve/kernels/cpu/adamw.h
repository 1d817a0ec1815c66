// Fused AdamW step (decoupled weight decay) on f32 master weights: one pass over the four
// arrays instead of the half-dozen elementwise ops it would otherwise take.
#pragma once

#include <cstdint>

namespace sieve::kernels::cpu {

// Double, not float: PyTorch forms 1 - beta, lr * weight_decay and the bias corrections from
// Python floats (doubles) and rounds each result to f32 once. 1 - 0.9f differs from
// f32(1 - 0.9) in the last bits, so float fields here could not reproduce its updates.
struct AdamWHyper {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  std::int64_t step = 1;  // 1-based count of this update, for bias correction.
};

// For each i, the formula of torch.optim.AdamW (amsgrad=False, maximize=False):
//   param   *= 1 - lr * weight_decay
//   m        = beta1 * m + (1 - beta1) * g
//   v        = beta2 * v + (1 - beta2) * g * g
//   denom    = sqrt(v) / sqrt(1 - beta2^step) + eps
//   param   -= lr / (1 - beta1^step) * m / denom
// with m = exp_avg[i], v = exp_avg_sq[i], g = grad[i]. Scalars are formed in double and
// rounded to f32 once, and the f32 operations follow PyTorch 1.13's order (its m update is a
// fused multiply-add), so most results are bit-identical to torch.optim.AdamW and the rest
// differ in the last bits. All arrays are contiguous [n] and distinct. Large n runs on
// core::num_threads() threads.
void adamw_update(const AdamWHyper& hyper, std::int64_t n, float* param, const float* grad, float* exp_avg,
                  float* exp_avg_sq);

}  // namespace sieve::kernels::cpu
