#include "sieve/train/language_model_task.h"

#include <cmath>

#include "sieve/autograd/grad_mode.h"
#include "sieve/nn/attention/sparse.h"

namespace sieve::train {
namespace {

// Validation measures the sparse layers' dense-mass coverage on its first windows only: a
// measured forward also runs dense attention and builds the sparse plan a second time, and a
// handful of windows already average thousands of query × head pairs.
constexpr std::int64_t kCoverageWindows = 8;

// The sparse layers with a scorer (local layers drop keys by design, not by choice).
std::vector<nn::SparseAttention*> scorer_layers(const nn::Module& model) {
  std::vector<nn::SparseAttention*> layers;
  for (auto& [path, module] : model.named_modules())
    if (auto* sparse = dynamic_cast<nn::SparseAttention*>(module.get()); sparse != nullptr && sparse->scorer())
      layers.push_back(sparse);
  return layers;
}

}  // namespace

void check_scorer_warmup(const nn::LlamaForCausalLM& model, std::int64_t steps, float weight) {
  SIEVE_USER_CHECK(steps >= 0, "--scorer-warmup-steps must be >= 0 (0: off), got {}", steps);
  SIEVE_USER_CHECK(std::isfinite(weight) && weight > 0.0f, "--scorer-distill-weight must be a number > 0, got {}",
                   weight);
  SIEVE_USER_CHECK(steps == 0 || model.scorer_layer_count() > 0,
                   "--scorer-warmup-steps {}: the model has no sparse attention layers (only dense or local ones), "
                   "so there is no scorer to warm up",
                   steps);
}

void check_scorer_distill_emphasis(float alpha) {
  SIEVE_USER_CHECK(std::isfinite(alpha) && alpha >= 0.0f, "--scorer-distill-emphasis must be a number >= 0, got {}",
                   alpha);
}

float dense_blend_share(std::int64_t step, std::int64_t steps) {
  if (step >= steps) return 0.0f;
  return 1.0f - static_cast<float>(step) / static_cast<float>(steps);
}

void check_dense_blend(const nn::LlamaForCausalLM& model, std::int64_t steps) {
  SIEVE_USER_CHECK(steps >= 0, "--dense-blend-steps must be >= 0 (0: off), got {}", steps);
  SIEVE_USER_CHECK(steps == 0 || model.scorer_layer_count() > 0,
                   "--dense-blend-steps {}: the model has no sparse attention layers (only dense or local ones), "
                   "so there is nothing to blend",
                   steps);
}

LanguageModelTask::LanguageModelTask(nn::LlamaForCausalLM& model, data::TokenShard train,
                                     data::TokenShard validation, LanguageModelTaskOptions options,
                                     nn::Module* auxiliary)
    : model_(model),
      auxiliary_(auxiliary),
      loader_(std::move(train), options.seed),
      validation_(std::move(validation)),
      options_(std::move(options)) {
  SIEVE_USER_CHECK(options_.batch > 0, "--batch must be > 0, got {}", options_.batch);
  SIEVE_USER_CHECK(options_.context > 0 && options_.context <= model.config().max_position_embeddings,
                   "--context must be in [1, {}] (the model's max_position_embeddings), got {}",
                   model.config().max_position_embeddings, options_.context);
  SIEVE_USER_CHECK(loader_.shard().vocab_size() <= model.config().vocab_size,
                   "the dataset's vocabulary ({}) is larger than the model's ({})", loader_.shard().vocab_size(),
                   model.config().vocab_size);
  check_scorer_warmup(model, options_.scorer_warmup_steps, options_.scorer_distill_weight);
  check_dense_blend(model, options_.dense_blend_steps);
  check_scorer_distill_emphasis(options_.scorer_distill_emphasis);
  model_.set_scorer_distill_emphasis(options_.scorer_distill_emphasis);
}

nn::NamedTensors LanguageModelTask::trained_parameters() const {
  nn::NamedTensors named = model_.named_parameters();
  if (auxiliary_ != nullptr)
    for (auto& [name, parameter] : auxiliary_->named_parameters()) named.emplace_back("auxiliary." + name, parameter);
  return named;
}

void LanguageModelTask::set_training(bool training) {
  model_.set_training(training);
  if (auxiliary_ != nullptr) auxiliary_->set_training(training);
}

std::int64_t LanguageModelTask::items_per_step(std::int64_t micro_batches) const {
  return options_.batch * options_.context * micro_batches;
}

void LanguageModelTask::begin_step(std::int64_t step, std::int64_t micro_batches) {
  micro_batches_.clear();
  for (std::int64_t i = 0; i < micro_batches; ++i)
    micro_batches_.push_back(loader_.next_batch(options_.batch, options_.context));
  // The warm-up and the blend count steps run, skipped ones included, so they end at the same
  // step on resume.
  const bool warm_up = step < options_.scorer_warmup_steps;
  model_.set_scorer_distillation(warm_up ? options_.scorer_distill_weight : 0.0f);
  model_.take_scorer_distillation_totals();  // start this step's sums from zero
  model_.set_dense_blend(dense_blend_share(step, options_.dense_blend_steps));
}

core::Tensor LanguageModelTask::micro_batch_loss(std::size_t index, LossTerms& terms) {
  const data::Batch& batch = micro_batches_.at(index);
  return loss_function ? loss_function(batch, terms) : model_.loss(batch.inputs, batch.targets);
}

void LanguageModelTask::end_step(StepResult& result) {
  // The step's loss is the LM loss: what scorer distillation added is taken back out (the step
  // reports the mean over the micro-batches of what each loss() returned); the distillation
  // loss is a term of its own.
  const nn::LlamaForCausalLM::ScorerDistillationTotals distill = model_.take_scorer_distillation_totals();
  last_distill_loss_ = std::numeric_limits<double>::quiet_NaN();
  if (distill.calls > 0) {
    result.loss -= distill.added / static_cast<double>(micro_batches_.size());
    last_distill_loss_ = distill.bce / static_cast<double>(distill.calls);
    result.terms["scorer_distill_loss"] = last_distill_loss_;
  }
}

void LanguageModelTask::end_run() {
  model_.set_scorer_distillation(0.0f);  // a warm-up cut short by the run's end ends with it
  model_.set_dense_blend(0.0f);          // and so does a blend
}

std::string LanguageModelTask::term_label(const std::string& name) const {
  return name == "scorer_distill_loss" ? "scorer distill" : name;
}

double LanguageModelTask::validation_loss() { return validate(false).loss; }

LanguageModelTask::Validation LanguageModelTask::validate(bool measure_coverage) {
  autograd::NoGradGuard no_grad;
  const ops::PrecisionScope precision(options_.precision);  // validate as the model trains
  const bool was_training = model_.training();
  const float blend = model_.dense_blend();
  model_.set_training(false);
  model_.set_dense_blend(0.0f);
  const std::vector<nn::SparseAttention*> layers =
      measure_coverage ? scorer_layers(model_) : std::vector<nn::SparseAttention*>{};
  for (nn::SparseAttention* layer : layers) layer->reset_coverage();
  data::EvalWindows windows(data::TokenShard::open(validation_.path()), options_.context, options_.eval_windows);
  double total = 0.0;
  std::int64_t rows = 0;
  while (auto batch = windows.next_batch(options_.batch)) {
    const std::int64_t n = batch->inputs.size(0);
    for (nn::SparseAttention* layer : layers) layer->set_measure_coverage(rows < kCoverageWindows);
    total += model_.loss(batch->inputs, batch->targets).item() * static_cast<double>(n);
    rows += n;
  }
  Validation result{.loss = total / static_cast<double>(rows)};
  double coverage_sum = 0.0;
  std::int64_t queries = 0;
  for (nn::SparseAttention* layer : layers) {
    layer->set_measure_coverage(false);
    coverage_sum += layer->coverage().sum;
    queries += layer->coverage().queries;
    layer->reset_coverage();
  }
  // No query measured: the scorer layers run dense attention (NOTE [Sparse layer mode]).
  if (queries > 0) result.dense_mass_coverage = coverage_sum / static_cast<double>(queries);
  model_.set_training(was_training);
  model_.set_dense_blend(blend);
  return result;
}

Evaluation LanguageModelTask::evaluate() {
  const Validation validation = validate(true);
  Evaluation evaluation;
  evaluation.loss = validation.loss;
  evaluation.metrics.push_back({"val_ppl", "perplexity", std::exp(evaluation.loss), 2});
  if (validation.dense_mass_coverage)
    evaluation.metrics.push_back({"dense_mass_coverage", "dense mass covered", *validation.dense_mass_coverage, 4});
  return evaluation;
}

nlohmann::json LanguageModelTask::data_state() const {
  const data::LoaderState state = loader_.state();
  return {{"rng", state.rng}, {"batches", state.batches}};
}

void LanguageModelTask::restore_data_state(const nlohmann::json& state) {
  data::LoaderState restored;
  restored.rng = state.at("rng").get<core::Rng::State>();
  restored.batches = state.at("batches").get<std::int64_t>();
  loader_.restore(restored);
}

}  // namespace sieve::train
