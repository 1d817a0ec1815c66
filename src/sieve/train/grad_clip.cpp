#include "sieve/train/grad_clip.h"

#include <cmath>

#include "sieve/kernels/cpu/elementwise.h"
#include "sieve/kernels/cpu/reduce.h"

namespace sieve::train {

double gradient_norm(const std::vector<core::Tensor>& parameters) {
  double total = 0.0;
  for (const auto& parameter : parameters) {
    const core::Tensor grad = parameter.grad();
    if (grad.defined()) total += kernels::cpu::sum_squares(grad.dtype(), grad.numel(), grad.raw_data());
  }
  return std::sqrt(total);
}

double clip_gradient_norm(const std::vector<core::Tensor>& parameters, double max_norm) {
  const double norm = gradient_norm(parameters);
  if (max_norm <= 0.0 || !(norm > max_norm)) return norm;
  const auto factor = static_cast<float>(max_norm / (norm + 1e-6));
  for (const auto& parameter : parameters) {
    const core::Tensor grad = parameter.grad();
    if (grad.defined()) kernels::cpu::scale(grad.dtype(), grad.numel(), factor, grad.raw_data(), grad.raw_data());
  }
  return norm;
}

}  // namespace sieve::train
