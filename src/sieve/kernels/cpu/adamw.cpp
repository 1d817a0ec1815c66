#include "sieve/kernels/cpu/adamw.h"

#include <cmath>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/adamw_loops.h"

namespace sieve::kernels::cpu {
namespace {

// Elements per task; the loop reads 16 and writes 12 bytes per element, so it is memory bound.
constexpr std::int64_t kGrain = 1 << 14;

// Mirrors torch.optim.AdamW's single-tensor path, op by op: param.mul_(1 - lr*wd);
// exp_avg.mul_(b1).add_(g, alpha=1-b1); exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2);
// denom = (exp_avg_sq.sqrt() / sqrt(bc2)).add_(eps); param.addcdiv_(exp_avg, denom, value=-step_size).
// PyTorch's vectorised add_ and addcmul_ end in a fused multiply-add, hence the std::fma.
void portable_loop(const AdamWScalars& s, std::int64_t n, float* param, const float* grad, float* exp_avg,
                   float* exp_avg_sq) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float g = grad[i];
    const float p = param[i] * s.decay;
    const float m = std::fma(g, s.one_minus_beta1, exp_avg[i] * s.beta1);
    const float v = std::fma(s.one_minus_beta2 * g, g, exp_avg_sq[i] * s.beta2);
    const float denom = std::sqrt(v) / s.bias2_sqrt + s.eps;
    param[i] = p + s.neg_step_size * m / denom;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
  }
}

}  // namespace

void adamw_update(const AdamWHyper& hyper, std::int64_t n, float* param, const float* grad, float* exp_avg,
                  float* exp_avg_sq) {
  SIEVE_CHECK(hyper.step >= 1, "adamw_update: step must be 1-based, got {}", hyper.step);
  SIEVE_CHECK(n >= 0, "adamw_update: negative element count {}", n);
  // Formed in double like PyTorch's Python floats, then rounded to f32 once.
  const double lr = hyper.lr, beta1 = hyper.beta1, beta2 = hyper.beta2;
  const auto step = static_cast<double>(hyper.step);
  SIEVE_CHECK(beta1 >= 0.0 && beta1 < 1.0 && beta2 >= 0.0 && beta2 < 1.0,
              "adamw_update: betas must be in [0, 1), got {} and {}", beta1, beta2);
  const double bias1 = 1.0 - std::pow(beta1, step);
  const double bias2 = 1.0 - std::pow(beta2, step);
  const AdamWScalars scalars{
      .decay = static_cast<float>(1.0 - lr * hyper.weight_decay),
      .beta1 = static_cast<float>(beta1),
      .one_minus_beta1 = static_cast<float>(1.0 - beta1),
      .beta2 = static_cast<float>(beta2),
      .one_minus_beta2 = static_cast<float>(1.0 - beta2),
      .bias2_sqrt = static_cast<float>(std::sqrt(bias2)),
      .eps = static_cast<float>(hyper.eps),
      .neg_step_size = static_cast<float>(-lr / bias1),
  };
  const AdamWLoop loop = core::cpu_features().has_avx512() ? avx512::adamw_loop : portable_loop;
  core::parallel_for(n, kGrain, [&](std::int64_t begin, std::int64_t end) {
    loop(scalars, end - begin, param + begin, grad + begin, exp_avg + begin, exp_avg_sq + begin);
  });
}

}  // namespace sieve::kernels::cpu
