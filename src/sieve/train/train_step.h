// One optimizer step from a list of micro-batches — the core of the training loop, shared by
// TrainingLoop and by tests that need to feed it exact data.
//
// NOTE [Gradient accumulation]: with N micro-batches each loss's seed gradient is
// loss_scale / N, so the accumulated .grad is loss_scale × the gradient of the mean of the N
// micro-batch losses — for equal-sized micro-batches exactly the gradient of one batch N times
// larger (up to float rounding). Unscaling, the inf/NaN check, clipping and the AdamW update
// then happen once, on the accumulated gradient. A skipped step (inf/NaN) leaves the weights
// and the optimizer state (including its step count, which drives the LR schedule) untouched.
#pragma once

#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "sieve/data/batch_loader.h"
#include "sieve/nn/models/llama.h"
#include "sieve/train/adamw.h"
#include "sieve/train/loss_scaler.h"

namespace sieve::train {

struct StepResult {
  double loss = 0.0;         // mean (unscaled) loss over the micro-batches
  double grad_norm = 0.0;    // global L2 norm of the unscaled gradient, before clipping; NaN if skipped
  float lr = 0.0f;           // the learning rate of the update (of the would-be update if skipped)
  float loss_scale = 1.0f;   // the scale the gradients were computed with
  bool skipped = false;      // inf/NaN gradient or loss: no update was made
  std::int64_t tokens = 0;   // tokens in the micro-batches
  std::map<std::string, double> terms;  // a LossFunction's named parts, mean over the micro-batches
};

// Named parts of a training loss (e.g. distillation's "kl" and "ce") that a LossFunction reports
// beside it; the trainer averages them into the progress line and the metrics stream.
using LossTerms = std::map<std::string, double>;

// The loss of one micro-batch in place of model.loss(inputs, targets): a one-element tensor whose
// graph reaches the model's parameters (distillation computes it from a teacher's logits too).
// Runs with the step's grad mode and precision policy; may add named parts to `terms`.
using LossFunction = std::function<core::Tensor(const data::Batch& batch, LossTerms& terms)>;

// Called after every micro-batch's backward, before unscaling, with the model's parameters
// (tests use it to inject an overflow).
using GradientHook = std::function<void(const std::vector<core::Tensor>& parameters)>;

// The loss of micro-batch `index` of a step: a one-element tensor whose graph reaches the trained
// parameters. May add named parts to `terms`.
using MicroBatchLoss = std::function<core::Tensor(std::size_t index, LossTerms& terms)>;

// The step itself, for any model: zeroes the gradients of `parameters`, runs forward and backward
// on micro-batches 0 .. micro_batches-1 through `loss` (seed gradient
// scaler.scale() / micro_batches), unscales and checks the gradients, clips them to
// `clip_grad_norm` (<= 0: no clipping) and, unless something was non-finite, applies
// optimizer.step(lr), which must hold exactly `parameters`. Then scaler.update(skipped).
// `result.tokens` stays 0: the caller counts what its micro-batches hold.
StepResult optimizer_step(const std::vector<core::Tensor>& parameters, AdamW& optimizer, LossScaler& scaler,
                          std::size_t micro_batches, const MicroBatchLoss& loss, float lr, double clip_grad_norm,
                          const GradientHook& hook = {});

// The language-model step: the loss of each token micro-batch is model.loss — or `loss_function`
// when set. An `auxiliary` module's parameters (trained beside the model by the loss function,
// e.g. a projection) are zeroed, unscaled, checked and clipped with the model's; the optimizer
// must hold them too. Micro-batches should all have the same shape (see the note: otherwise the
// result is the mean of per-micro-batch means).
StepResult optimizer_step(nn::LlamaForCausalLM& model, AdamW& optimizer, LossScaler& scaler,
                          std::span<const data::Batch> micro_batches, float lr, double clip_grad_norm,
                          const GradientHook& hook = {}, const LossFunction& loss_function = {},
                          nn::Module* auxiliary = nullptr);

}  // namespace sieve::train
