#include "sieve/compress/prune/importance.h"

#include "sieve/core/error.h"

namespace sieve::compress {

std::optional<ImportanceCriterion> importance_criterion_from_name(std::string_view name) {
  if (name == "magnitude") return ImportanceCriterion::magnitude;
  if (name == "activation") return ImportanceCriterion::activation;
  if (name == "taylor") return ImportanceCriterion::taylor;
  return std::nullopt;
}

std::string_view importance_criterion_name(ImportanceCriterion criterion) {
  switch (criterion) {
    case ImportanceCriterion::magnitude: return "magnitude";
    case ImportanceCriterion::activation: return "activation";
    case ImportanceCriterion::taylor: return "taylor";
  }
  return "?";
}

UnitImportance measure_importance(nn::LlamaForCausalLM& model, ImportanceCriterion criterion,
                                  const std::vector<core::Tensor>& batches) {
  if (criterion == ImportanceCriterion::magnitude) return magnitude_importance(model);
  SIEVE_USER_CHECK(!batches.empty(), "the {} importance needs calibration batches (--calibration CORPUS)",
                   importance_criterion_name(criterion));
  if (criterion == ImportanceCriterion::activation) return activation_importance(model, batches);
  return taylor_importance(model, batches);
}

}  // namespace sieve::compress
