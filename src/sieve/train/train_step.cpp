#include "sieve/train/train_step.h"

#include <cmath>
#include <limits>

#include "sieve/autograd/engine.h"
#include "sieve/train/grad_clip.h"

namespace sieve::train {

StepResult optimizer_step(nn::LlamaForCausalLM& model, AdamW& optimizer, LossScaler& scaler,
                          std::span<const data::Batch> micro_batches, float lr, double clip_grad_norm,
                          const GradientHook& hook, const LossFunction& loss_function, nn::Module* auxiliary) {
  SIEVE_CHECK(!micro_batches.empty(), "an optimizer step needs at least one micro-batch");
  StepResult result;
  result.lr = lr;
  result.loss_scale = scaler.scale();
  const float seed = scaler.seed_factor(1.0f / static_cast<float>(micro_batches.size()));
  std::vector<core::Tensor> parameters = model.parameters();
  if (auxiliary != nullptr) {
    for (const core::Tensor& p : auxiliary->parameters()) parameters.push_back(p);
    auxiliary->zero_grad();
  }

  model.zero_grad();
  double loss_sum = 0.0;
  LossTerms term_sums;
  for (const data::Batch& batch : micro_batches) {
    LossTerms terms;
    core::Tensor loss = loss_function ? loss_function(batch, terms) : model.loss(batch.inputs, batch.targets);
    for (const auto& [name, value] : terms) term_sums[name] += value;
    autograd::backward(loss, core::Tensor::full(loss.shape(), seed, loss.dtype()));
    loss_sum += loss.item();
    result.tokens += batch.targets.numel();
  }
  result.loss = loss_sum / static_cast<double>(micro_batches.size());
  for (const auto& [name, sum] : term_sums) result.terms[name] = sum / static_cast<double>(micro_batches.size());
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

}  // namespace sieve::train
