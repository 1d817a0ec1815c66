#include "sieve/compress/mixed_plan_search.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "sieve/compress/quantize_model.h"
#include "sieve/core/error.h"

// NOTE [Mixed plan search]
// The budget is on the loss: B = ln(1 + P/100) for a perplexity increase of P %. Each layer
// offers two steps, f32 → int8 (cost max(0, Δ8), saving b8 bytes) and int8 → int4 (cost
// max(0, Δ4 − max(0, Δ8)), saving b4 − b8), with Δ and b from the sensitivity report. Steps are
// taken greedily by cost per byte saved (free ones first) while the summed cost stays within a
// working budget, an int4 step only after its layer's int8 step. Per-layer changes do not add
// exactly (errors interact, and some cancel), so each plan is measured whole; while the
// measurement exceeds B the working budget shrinks by B / measured (and 10 % more) and the plan
// is rebuilt. The result is the last plan measured within B — at worst all f32, which is.

namespace sieve::compress {
namespace {

constexpr int kMaxMeasurements = 6;

struct Step {
  std::string layer;
  Precision to;
  double cost;
  std::int64_t saving;
};

std::map<std::string, Precision> greedy_choice(const std::vector<Step>& steps, double budget) {
  std::map<std::string, Precision> chosen;
  double spent = 0.0;
  for (const Step& step : steps) {
    const auto it = chosen.find(step.layer);
    if (step.to == Precision::int4 && (it == chosen.end() || it->second != Precision::int8)) continue;
    if (spent + step.cost > budget) continue;
    spent += step.cost;
    chosen[step.layer] = step.to;
  }
  return chosen;
}

// The plan's loss change, measured with the formats in place (f32 weights kept), then undone.
double measure_plan(nn::LlamaForCausalLM& model, const std::vector<core::Tensor>& batches, const QuantizationPlan& plan,
                    const std::map<std::string, float>* input_ranges, double f32_loss) {
  std::vector<nn::Linear*> changed;
  for (const auto& [path, linear] : model_linears(model)) {
    const auto it = plan.layers.find(path);
    if (it == plan.layers.end() || it->second == Precision::f32) continue;
    const float* range = it->second == Precision::int8 && input_ranges != nullptr ? &input_ranges->at(path) : nullptr;
    linear->set_weight_format(quantized_format(*linear, it->second, plan, range), false);
    changed.push_back(linear);
  }
  const double delta = mean_loss(model, batches) - f32_loss;
  for (nn::Linear* linear : changed) linear->set_weight_format(nullptr, false);
  return delta;
}

}  // namespace

MixedPlanResult search_mixed_plan(nn::LlamaForCausalLM& model, const std::vector<core::Tensor>& batches,
                                  const SensitivityReport& report, double max_ppl_increase_percent,
                                  const std::map<std::string, float>* input_ranges) {
  SIEVE_USER_CHECK(max_ppl_increase_percent > 0.0 && std::isfinite(max_ppl_increase_percent),
                   "--max-ppl-increase must be a percentage > 0, got {}", max_ppl_increase_percent);
  const double budget = std::log1p(max_ppl_increase_percent / 100.0);
  std::map<std::string, std::map<Precision, const SensitivityRow*>> by_layer;
  for (const SensitivityRow& row : report.rows)
    if (!row.group) by_layer[row.layer][row.precision] = &row;

  MixedPlanResult result;
  result.max_ppl_increase_percent = max_ppl_increase_percent;
  std::vector<Step> steps;
  std::map<std::string, std::int64_t> f32_bytes;
  for (const auto& [path, linear] : model_linears(model)) {
    const auto it = by_layer.find(path);
    if (it == by_layer.end()) continue;
    SIEVE_CHECK(it->second.contains(Precision::int8) && it->second.contains(Precision::int4),
                "search_mixed_plan: the report lacks int8 or int4 for '{}'", path);
    const SensitivityRow& int8 = *it->second.at(Precision::int8);
    const SensitivityRow& int4 = *it->second.at(Precision::int4);
    const double cost8 = std::max(0.0, int8.delta_loss);
    steps.push_back({path, Precision::int8, cost8, int8.bytes_saved});
    steps.push_back({path, Precision::int4, std::max(0.0, int4.delta_loss - cost8), int4.bytes_saved - int8.bytes_saved});
    f32_bytes[path] = linear->in_features() * linear->out_features() * std::int64_t{4};
    result.f32_bytes += f32_bytes[path];
  }
  std::stable_sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) {
    return a.cost * static_cast<double>(std::max<std::int64_t>(1, b.saving)) <
           b.cost * static_cast<double>(std::max<std::int64_t>(1, a.saving));
  });

  result.plan = mixed_plan({}, report.settings);
  result.plan_bytes = result.f32_bytes;
  double working_budget = budget;
  for (int attempt = 0; attempt < kMaxMeasurements; ++attempt) {
    const std::map<std::string, Precision> chosen = greedy_choice(steps, working_budget);
    if (chosen.empty()) break;
    QuantizationPlan plan = mixed_plan(chosen, report.settings);
    double predicted = 0.0;
    std::int64_t bytes = result.f32_bytes;
    for (const auto& [layer, precision] : chosen) {
      const SensitivityRow& row = *by_layer.at(layer).at(precision);
      predicted += std::max(0.0, row.delta_loss);
      bytes -= row.bytes_saved;
    }
    const double measured = measure_plan(model, batches, plan, input_ranges, report.f32_loss);
    ++result.measurements;
    if (measured <= budget) {
      result.plan = std::move(plan);
      result.predicted_delta_loss = predicted;
      result.measured_delta_loss = measured;
      result.plan_bytes = bytes;
      break;
    }
    working_budget = std::min(working_budget, predicted) * budget / measured * 0.9;
  }
  result.measured_ppl_increase_percent = 100.0 * std::expm1(result.measured_delta_loss);
  return result;
}

}  // namespace sieve::compress
