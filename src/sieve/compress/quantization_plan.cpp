#include "sieve/compress/quantization_plan.h"

#include <algorithm>
#include <memory>

#include <fmt/ranges.h>

#include "sieve/compress/quantized_linear.h"
#include "sieve/core/error.h"

namespace sieve::compress {

std::string_view precision_name(Precision precision) {
  switch (precision) {
    case Precision::f32: return "f32";
    case Precision::int8: return "int8";
    case Precision::int4: return "int4";
  }
  return "?";
}

std::optional<Precision> precision_from_name(std::string_view name) {
  for (Precision p : {Precision::f32, Precision::int8, Precision::int4})
    if (name == precision_name(p)) return p;
  return std::nullopt;
}

std::string_view activation_mode_name(ActivationMode mode) {
  return mode == ActivationMode::dynamic ? "dynamic" : "static";
}

std::optional<ActivationMode> activation_mode_from_name(std::string_view name) {
  if (name == "dynamic") return ActivationMode::dynamic;
  if (name == "static") return ActivationMode::calibrated;
  return std::nullopt;
}

bool quantizes_any(const QuantizationPlan& plan) {
  return std::ranges::any_of(plan.layers, [](const auto& layer) { return layer.second != Precision::f32; });
}

std::vector<std::pair<std::string, nn::Linear*>> model_linears(const nn::Module& model) {
  std::vector<std::pair<std::string, nn::Linear*>> out;
  for (const auto& [path, module] : model.named_modules())
    if (auto* linear = dynamic_cast<nn::Linear*>(module.get())) out.emplace_back(path, linear);
  return out;
}

bool quantized_by_default(std::string_view linear_path) {
  return linear_path.find(".scorer.") == std::string_view::npos;
}

QuantizationPlan uniform_plan(const nn::Module& model, Precision precision) {
  SIEVE_CHECK(precision != Precision::f32, "uniform_plan: a scheme quantizes (int8 or int4)");
  QuantizationPlan plan;
  plan.scheme = precision_name(precision);
  for (const auto& [path, linear] : model_linears(model))
    if (quantized_by_default(path)) plan.layers.emplace(path, precision);
  return plan;
}

QuantizationPlan mixed_plan(std::map<std::string, Precision> layers, const QuantizationPlan& base) {
  QuantizationPlan plan = base;
  plan.scheme = "mixed";
  plan.layers = std::move(layers);
  return plan;
}

void validate_plan(const QuantizationPlan& plan, const nn::Module& model, std::string_view source) {
  SIEVE_USER_CHECK(std::ranges::find(kSchemes, plan.scheme) != std::end(kSchemes),
                   "{}: unknown quantization scheme '{}' (known: {})", source, plan.scheme, fmt::join(kSchemes, ", "));
  SIEVE_USER_CHECK(is_valid_int4_group_size(plan.group_size),
                   "{}: group_size {} is not allowed (INT4 groups are 32, 64, 96 or 128 inputs)", source,
                   plan.group_size);
  SIEVE_USER_CHECK(plan.int4_scale_dtype == core::DType::f16 || plan.int4_scale_dtype == core::DType::f32,
                   "{}: INT4 scales are stored as f16 or f32, not {}", source,
                   core::dtype_name(plan.int4_scale_dtype));
  std::map<std::string, const nn::Linear*> linears;
  for (const auto& [path, linear] : model_linears(model)) linears.emplace(path, linear);
  for (const auto& [path, precision] : plan.layers) {
    SIEVE_USER_CHECK(linears.contains(path), "{}: layers: '{}' is not a Linear of this model (e.g. '{}')", source, path,
                     linears.empty() ? std::string("none") : linears.begin()->first);
    SIEVE_USER_CHECK(plan.scheme == "mixed" || precision == Precision::f32 || precision_name(precision) == plan.scheme,
                     "{}: layers: '{}' is {} in an {} scheme (a plan with several precisions is scheme 'mixed')",
                     source, path, precision_name(precision), plan.scheme);
  }
}

}  // namespace sieve::compress
