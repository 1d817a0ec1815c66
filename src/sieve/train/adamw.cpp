#include "sieve/train/adamw.h"

#include <map>

#include "sieve/kernels/cpu/adamw.h"

namespace sieve::train {

AdamW::AdamW(nn::NamedTensors parameters, AdamWOptions options) : options_(options) {
  for (auto& [name, parameter] : parameters) {
    if (!parameter.requires_grad()) continue;
    SIEVE_CHECK(parameter.dtype() == core::DType::f32 && parameter.is_contiguous(),
                "AdamW keeps f32 master weights; '{}' is {}", name, core::dtype_name(parameter.dtype()));
    const bool decay = !options.decay_matrices_only || parameter.dim() >= 2;
    slots_.push_back({name, parameter, Tensor::zeros(parameter.shape()), Tensor::zeros(parameter.shape()), decay});
  }
}

void AdamW::step(float lr) {
  ++step_;
  for (auto& slot : slots_) {
    const Tensor grad = slot.parameter.grad();
    if (!grad.defined()) continue;
    const kernels::cpu::AdamWHyper hyper{lr, options_.beta1, options_.beta2, options_.eps,
                                         slot.decay ? options_.weight_decay : 0.0f, step_};
    kernels::cpu::adamw_update(hyper, slot.parameter.numel(), slot.parameter.data<float>(), grad.data<float>(),
                               slot.exp_avg.data<float>(), slot.exp_avg_sq.data<float>());
  }
}

nn::NamedTensors AdamW::state() const {
  nn::NamedTensors out;
  for (const auto& slot : slots_) {
    out.emplace_back("exp_avg." + slot.name, slot.exp_avg);
    out.emplace_back("exp_avg_sq." + slot.name, slot.exp_avg_sq);
  }
  return out;
}

void AdamW::load_state(const nn::NamedTensors& state, std::int64_t step) {
  std::map<std::string, Tensor> by_name(state.begin(), state.end());
  for (auto& slot : slots_) {
    for (auto [prefix, target] : {std::pair{"exp_avg.", &slot.exp_avg}, std::pair{"exp_avg_sq.", &slot.exp_avg_sq}}) {
      auto it = by_name.find(prefix + slot.name);
      SIEVE_USER_CHECK(it != by_name.end(), "optimizer state has no '{}{}'", prefix, slot.name);
      SIEVE_USER_CHECK(it->second.shape() == target->shape(), "optimizer state '{}{}' has shape {}, expected {}",
                       prefix, slot.name, core::shape_string(it->second.shape()),
                       core::shape_string(target->shape()));
      target->copy_from(it->second);
    }
  }
  step_ = step;
}

}  // namespace sieve::train
