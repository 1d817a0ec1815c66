#include "sieve/train/trainer.h"

namespace sieve::train {
namespace {

LanguageModelTaskOptions task_options(const TrainerOptions& options) {
  return {.batch = options.batch,
          .context = options.context,
          .seed = options.seed,
          .eval_windows = options.eval_windows,
          .precision = options.precision,
          .scorer_warmup_steps = options.scorer_warmup_steps,
          .scorer_distill_weight = options.scorer_distill_weight,
          .scorer_distill_emphasis = options.scorer_distill_emphasis,
          .dense_blend_steps = options.dense_blend_steps};
}

// The "start" record's LM fields: the batch shape and, for a model with sparse (scorer) layers,
// how they choose their global keys — τ (null in keep-ratio mode, which names its share instead)
// and the cap.
nlohmann::json start_record(const nn::LlamaForCausalLM& model, const TrainerOptions& options) {
  nlohmann::json record{{"batch", options.batch}, {"context", options.context}};
  if (model.scorer_layer_count() > 0) {
    const nn::AttentionConfig& attention = model.config().attention;
    const bool keep_ratio_mode = attention.keep_ratio > 0.0;
    record["sparse_threshold"] = keep_ratio_mode ? nlohmann::json(nullptr) : nlohmann::json(attention.threshold);
    if (keep_ratio_mode) record["sparse_keep_ratio"] = attention.keep_ratio;
    record["sparse_global_cap"] = attention.global_cap;
  }
  return record;
}

}  // namespace

Trainer::Trainer(nn::LlamaForCausalLM& model, data::TokenShard train, data::TokenShard validation,
                 TrainerOptions options, nn::Module* auxiliary)
    : task_(model, std::move(train), std::move(validation), task_options(options), auxiliary),
      loop_(task_, options, start_record(model, options)) {}

void Trainer::connect_hooks() {
  task_.loss_function = loss_function;
  loop_.gradient_hook = gradient_hook;
  loop_.on_step = [this](std::int64_t step, const StepResult& result) {
    if (on_step) on_step(step, result.loss);
    if (on_step_result) on_step_result(step, result);
  };
}

TrainResult Trainer::run(const std::atomic<bool>* stop) {
  connect_hooks();
  return loop_.run(stop);
}

StepResult Trainer::step() {
  connect_hooks();
  return loop_.step();
}

}  // namespace sieve::train
