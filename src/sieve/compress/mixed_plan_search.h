// The mixed plan: per layer the cheapest precision (int4, int8 or f32) such that the whole
// quantized model's measured perplexity stays within a budget (NOTE [Mixed plan search] in
// mixed_plan_search.cpp).
#pragma once

#include <string>
#include <vector>

#include "sieve/compress/sensitivity.h"

namespace sieve::compress {

struct MixedPlanResult {
  QuantizationPlan plan;                 // scheme "mixed"
  double max_ppl_increase_percent = 0.0;  // the budget
  double predicted_delta_loss = 0.0;     // sum of the chosen layers' measured deltas
  double measured_delta_loss = 0.0;      // the whole plan, measured
  double measured_ppl_increase_percent = 0.0;
  std::int64_t f32_bytes = 0;            // the quantizable Linears' weights in f32
  std::int64_t plan_bytes = 0;           // the same under the plan
  int measurements = 0;                  // whole-plan evaluations the search ran
};

// Searches the plan for `max_ppl_increase_percent` (> 0) from a sensitivity report of `model`
// on the same batches (same settings), measuring candidate plans on `batches`. The model must
// hold its f32 weights and is unchanged afterwards.
MixedPlanResult search_mixed_plan(nn::LlamaForCausalLM& model, const std::vector<core::Tensor>& batches,
                                  const SensitivityReport& report, double max_ppl_increase_percent,
                                  const std::map<std::string, float>* input_ranges);

}  // namespace sieve::compress
