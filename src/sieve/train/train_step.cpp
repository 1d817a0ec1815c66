#include "sieve/train/train_step.h"

#include <cmath>
#include <limits>

#include "sieve/autograd/engine.h"
#include "sieve/train/grad_clip.h"

namespace sieve::train {

StepResult optimizer_step(const std::vector<core::Tensor>& parameters, AdamW& optimizer, LossScaler& scaler,
                          std::size_t micro_batches, const MicroBatchLoss& loss, float lr, double clip_grad_norm,
                          const GradientHook& hook) {
  SIEVE_CHECK(micro_batches > 0, "an optimizer step needs at least one micro-batch");
  StepResult result;
  result.lr = lr;
  result.loss_scale = scaler.scale();
  const float seed = scaler.seed_factor(1.0f / static_cast<float>(micro_batches));
  for (core::Tensor p : parameters) p.zero_grad();  // handles share the parameter

  double loss_sum = 0.0;
  LossTerms term_sums;
  for (std::size_t i = 0; i < micro_batches; ++i) {
    LossTerms terms;
    core::Tensor value = loss(i, terms);
    for (const auto& [name, term] : terms) term_sums[name] += term;
    autograd::backward(value, core::Tensor::full(value.shape(), seed, value.dtype()));
    loss_sum += value.item();
  }
  result.loss = loss_sum / static_cast<double>(micro_batches);
  for (const auto& [name, sum] : term_sums) result.terms[name] = sum / static_cast<double>(micro_batches);
  if (hook) hook(parameters);

  bool found_inf = scaler.unscale_and_check(parameters) || !std::isfinite(result.loss);
  if (!found_inf) {
    result.grad_norm = clip_gradient_norm(parameters, clip_grad_norm);
    // Reached with the scaler disabled (nothing checked yet), or on an overflow in the norm.
    found_inf = !std::isfinite(result.grad_norm);
  }
  if (found_inf) {
    result.skipped = true;
    result.grad_norm = std::numeric_limits<double>::quiet_NaN();
  } else {
    optimizer.step(lr);
  }
  scaler.update(found_inf);
  return result;
}

StepResult optimizer_step(nn::LlamaForCausalLM& model, AdamW& optimizer, LossScaler& scaler,
                          std::span<const data::Batch> micro_batches, float lr, double clip_grad_norm,
                          const GradientHook& hook, const LossFunction& loss_function, nn::Module* auxiliary) {
  std::vector<core::Tensor> parameters = model.parameters();
  if (auxiliary != nullptr)
    for (const core::Tensor& p : auxiliary->parameters()) parameters.push_back(p);
  const auto loss = [&](std::size_t i, LossTerms& terms) {
    const data::Batch& batch = micro_batches[i];
    return loss_function ? loss_function(batch, terms) : model.loss(batch.inputs, batch.targets);
  };
  StepResult result = optimizer_step(parameters, optimizer, scaler, micro_batches.size(), loss, lr, clip_grad_norm, hook);
  for (const data::Batch& batch : micro_batches) result.tokens += batch.targets.numel();
  return result;
}

}  // namespace sieve::train
