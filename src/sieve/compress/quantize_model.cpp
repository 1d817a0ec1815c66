#include "sieve/compress/quantize_model.h"

#include <cmath>
#include <set>

#include "sieve/compress/quantized_linear.h"
#include "sieve/core/error.h"

namespace sieve::compress {

std::vector<std::string> int8_layers(const QuantizationPlan& plan) {
  std::vector<std::string> out;
  for (const auto& [path, precision] : plan.layers)
    if (precision == Precision::int8) out.push_back(path);
  return out;
}

std::shared_ptr<const nn::LinearWeightFormat> quantized_format(const nn::Linear& linear, Precision precision,
                                                               const QuantizationPlan& settings, const float* input_range) {
  SIEVE_CHECK(precision != Precision::f32 && linear.weight().defined() && linear.weight().dtype() == core::DType::f32,
              "quantized_format: needs an f32 weight and int8/int4");
  // A non-finite weight makes a non-finite scale: a model that saves but does not load.
  const Tensor weight = linear.weight().contiguous();
  const float* w = weight.data<float>();
  for (std::int64_t i = 0; i < weight.numel(); ++i)
    SIEVE_USER_CHECK(std::isfinite(w[i]), "the weight holds {} at element {}: only finite weights quantize", w[i], i);
  if (precision == Precision::int4)
    return Int4LinearFormat::from_weight(linear.weight(), settings.group_size, settings.int4_scale_dtype);
  kernels::cpu::Int8Activation activation;
  if (input_range != nullptr) {
    activation.dynamic = false;
    activation.static_scale = *input_range > 0.0f ? *input_range / 127.0f : 1.0f;  // an all-zero input: any scale
  }
  return Int8LinearFormat::from_weight(linear.weight(), activation);
}

void quantize_model(nn::LlamaForCausalLM& model, const QuantizationPlan& plan,
                    const std::map<std::string, float>* input_ranges) {
  validate_plan(plan, model, "quantization plan");
  const bool calibrated = plan.activations == ActivationMode::calibrated;
  SIEVE_USER_CHECK(!calibrated || input_ranges != nullptr || int8_layers(plan).empty(),
                   "static INT8 activations need calibration ranges (calibrate_input_ranges on a corpus)");
  // Every check before any layer changes, so a refused plan leaves the model as it was.
  std::vector<std::pair<std::string, nn::Linear*>> targets;
  for (const auto& [path, linear] : model_linears(model)) {
    const auto it = plan.layers.find(path);
    if (it == plan.layers.end() || it->second == Precision::f32) continue;
    SIEVE_USER_CHECK(linear->weight().defined(), "'{}' is already quantized ({}): quantize the f32 model", path,
                     linear->weight_format() != nullptr ? linear->weight_format()->describe() : "no f32 weight");
    if (calibrated && it->second == Precision::int8) {
      const auto range = input_ranges->find(path);
      SIEVE_USER_CHECK(range != input_ranges->end(), "no calibration range for '{}'", path);
      SIEVE_USER_CHECK(std::isfinite(range->second),
                       "the calibration range of '{}' is not finite ({}): the model overflows on the calibration data",
                       path, range->second);
    }
    targets.emplace_back(path, linear);
  }
  // Every format is built before any layer takes one: building can still fail on the weights
  // themselves (an INT4 scale beyond f16), and a failure must leave the model as it was, not half
  // quantized. The cost is holding every quantized copy next to the f32 model for a moment.
  std::vector<std::shared_ptr<const nn::LinearWeightFormat>> formats;
  formats.reserve(targets.size());
  for (const auto& [path, linear] : targets) {
    const Precision precision = plan.layers.at(path);
    const float* range = calibrated && precision == Precision::int8 ? &input_ranges->at(path) : nullptr;
    try {
      formats.push_back(quantized_format(*linear, precision, plan, range));
    } catch (const core::UserError& e) {
      core::throw_user_error("cannot quantize '{}' to {}: {}", path, precision_name(precision), e.what());
    }
  }
  for (std::size_t i = 0; i < targets.size(); ++i)
    targets[i].second->set_weight_format(std::move(formats[i]), /*release_weight=*/true);
  freeze_for_inference(model);
}

QuantizationPlan plan_of(const nn::LlamaForCausalLM& model) {
  QuantizationPlan plan;
  std::set<Precision> used;
  for (const auto& [path, linear] : model_linears(model)) {
    const nn::LinearWeightFormat* format = linear->weight_format();
    Precision precision = Precision::f32;
    if (const auto* int8 = dynamic_cast<const Int8LinearFormat*>(format)) {
      precision = Precision::int8;
      plan.activations = int8->activation().dynamic ? ActivationMode::dynamic : ActivationMode::calibrated;
    } else if (const auto* int4 = dynamic_cast<const Int4LinearFormat*>(format)) {
      precision = Precision::int4;
      plan.group_size = int4->group_size();
      plan.int4_scale_dtype = int4->file_scale_dtype();
    } else {
      SIEVE_CHECK(format == nullptr, "'{}' runs a weight format that is not a quantized one ({})", path,
                  format->describe());
    }
    plan.layers.emplace(path, precision);
    if (precision != Precision::f32) used.insert(precision);
  }
  plan.scheme = used.size() == 1 ? std::string(precision_name(*used.begin())) : "mixed";
  return plan;
}

void freeze_for_inference(nn::Module& model) {
  for (auto& [name, parameter] : model.named_parameters()) parameter.set_requires_grad(false);
}

}  // namespace sieve::compress
