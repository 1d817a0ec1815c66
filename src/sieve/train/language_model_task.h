// Language-model training as a TrainingTask: random windows of a token shard as micro-batches,
// next-token loss (or a LossFunction such as distillation's), validation perplexity over
// sequential windows, and the sparse-attention schedules that depend on the step (scorer warm-up
// by distillation, dense-to-sparse blend).
#pragma once

#include <limits>
#include <optional>
#include <vector>

#include "sieve/data/batch_loader.h"
#include "sieve/nn/models/llama.h"
#include "sieve/ops/precision.h"
#include "sieve/train/training_task.h"

namespace sieve::train {

struct LanguageModelTaskOptions {
  std::int64_t batch = 8;         // sequences per micro-batch
  std::int64_t context = 256;     // tokens per sequence
  std::uint64_t seed = 0;         // data order
  std::int64_t eval_windows = 64;   // validation windows of `context` tokens (0: all)
  ops::PrecisionPolicy precision;   // validation runs in the precision the model trains in
  std::int64_t scorer_warmup_steps = 0;  // see TrainerOptions
  float scorer_distill_weight = 1.0f;
  float scorer_distill_emphasis = 0.0f;
  std::int64_t dense_blend_steps = 0;
};

// Throws core::UserError naming --scorer-warmup-steps / --scorer-distill-weight when steps < 0,
// the weight is not a finite number > 0, or steps > 0 on a model without sparse layers with a
// scorer (nothing to warm up: almost certainly a mistake in the attention flags).
void check_scorer_warmup(const nn::LlamaForCausalLM& model, std::int64_t steps, float weight);
// Throws core::UserError naming --scorer-distill-emphasis unless alpha is a finite number >= 0.
void check_scorer_distill_emphasis(float alpha);

// Dense-to-sparse blend (NOTE [Dense blend] in nn/attention/sparse.cpp) annealed over the first
// `steps` steps: the dense share at `step` is 1 − step / steps, and 0 from `steps` on.
float dense_blend_share(std::int64_t step, std::int64_t steps);
// Throws core::UserError naming --dense-blend-steps when steps < 0, or steps > 0 on a model
// without sparse layers with a scorer (nothing to blend).
void check_dense_blend(const nn::LlamaForCausalLM& model, std::int64_t steps);

class LanguageModelTask : public TrainingTask {
 public:
  // `auxiliary` (may be null; must outlive the task): a module trained beside the model by the
  // loss function; its parameters are checkpointed under "auxiliary.". Throws core::UserError for
  // a context the model cannot take or a data set whose vocabulary it does not cover.
  LanguageModelTask(nn::LlamaForCausalLM& model, data::TokenShard train, data::TokenShard validation,
                    LanguageModelTaskOptions options, nn::Module* auxiliary = nullptr);

  nn::NamedTensors trained_parameters() const override;
  void set_training(bool training) override;
  ItemUnit item_unit() const override { return {"tok", "tokens_per_s"}; }
  std::int64_t items_per_step(std::int64_t micro_batches) const override;
  void begin_step(std::int64_t step, std::int64_t micro_batches) override;
  core::Tensor micro_batch_loss(std::size_t index, LossTerms& terms) override;
  void end_step(StepResult& result) override;
  void end_run() override;
  std::string term_label(const std::string& name) const override;
  // The validation loss, val_ppl and, for a model whose scorer layers run sparse, the share of
  // the dense attention mass their key sets cover (dense_mass_coverage; nn::SparseAttention::
  // Coverage) on the first validation windows.
  Evaluation evaluate() override;
  std::string data_state_key() const override { return "loader"; }
  nlohmann::json data_state() const override;
  void restore_data_state(const nlohmann::json& state) override;

  // The mean next-token loss over the validation windows.
  double validation_loss();
  // The mean per-layer scorer distillation loss of the last step; NaN past the warm-up.
  double last_scorer_distillation_loss() const { return last_distill_loss_; }

  // When set, each micro-batch's training loss in place of the model's (e.g. distillation).
  LossFunction loss_function;

 private:
  nn::LlamaForCausalLM& model_;
  nn::Module* auxiliary_;
  data::BatchLoader loader_;
  data::TokenShard validation_;
  struct Validation {
    double loss = 0.0;
    std::optional<double> dense_mass_coverage{};  // none: not measured, or no layer runs sparse
  };
  Validation validate(bool measure_coverage);

  LanguageModelTaskOptions options_;
  std::vector<data::Batch> micro_batches_;  // the current step's
  double last_distill_loss_ = std::numeric_limits<double>::quiet_NaN();
};

}  // namespace sieve::train
