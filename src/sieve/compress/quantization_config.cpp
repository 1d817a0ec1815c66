#include "sieve/compress/quantization_config.h"

#include <algorithm>

#include <fmt/ranges.h>

#include "sieve/compress/quantized_linear.h"
#include "sieve/core/error.h"

namespace sieve::compress {
namespace {

using nlohmann::json;

constexpr std::string_view kKeys[] = {"scheme", "activations", "group_size", "scale_dtype", "layers"};

// Values from the file are cut short in messages.
std::string brief(const json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

const std::string& string_field(const json& section, const char* key, std::string_view source) {
  const auto it = section.find(key);
  SIEVE_USER_CHECK(it != section.end(), "{}: quantization.{} is missing", source, key);
  SIEVE_USER_CHECK(it->is_string(), "{}: quantization.{} must be a string, got {}", source, key, brief(*it));
  return it->get_ref<const std::string&>();
}

bool uses(const QuantizationPlan& plan, Precision precision) {
  return std::ranges::any_of(plan.layers, [&](const auto& layer) { return layer.second == precision; });
}

}  // namespace

QuantizationPlan parse_quantization_section(const json& section, std::string_view source) {
  SIEVE_USER_CHECK(section.is_object(), "{}: quantization must be an object, got {}", source, brief(section));
  for (const auto& [key, value] : section.items())
    SIEVE_USER_CHECK(std::ranges::find(kKeys, key) != std::end(kKeys), "{}: quantization.{}: unknown field (known: {})",
                     source, key, fmt::join(kKeys, ", "));
  QuantizationPlan plan;
  plan.scheme = string_field(section, "scheme", source);
  SIEVE_USER_CHECK(std::ranges::find(kSchemes, plan.scheme) != std::end(kSchemes),
                   "{}: quantization.scheme '{}' is unknown (known: {})", source, plan.scheme, fmt::join(kSchemes, ", "));
  const auto layers = section.find("layers");
  SIEVE_USER_CHECK(layers != section.end() && layers->is_object(),
                   "{}: quantization.layers must be an object of Linear path → precision", source);
  for (const auto& [path, value] : layers->items()) {
    const auto precision = value.is_string() ? precision_from_name(value.get_ref<const std::string&>()) : std::nullopt;
    SIEVE_USER_CHECK(precision.has_value(), "{}: quantization.layers.{}: {} is not a precision (f32, int8 or int4)",
                     source, path, brief(value));
    plan.layers.emplace(path, *precision);
  }
  if (section.contains("activations")) {
    const std::string& mode = string_field(section, "activations", source);
    const auto activations = activation_mode_from_name(mode);
    SIEVE_USER_CHECK(activations.has_value(), "{}: quantization.activations '{}' must be 'dynamic' or 'static'",
                     source, mode);
    plan.activations = *activations;
  }
  if (const auto group = section.find("group_size"); group != section.end()) {
    SIEVE_USER_CHECK(group->is_number_integer() && is_valid_int4_group_size(group->get<std::int64_t>()),
                     "{}: quantization.group_size {} is not allowed (INT4 groups are 32, 64, 96 or 128 inputs)", source,
                     brief(*group));
    plan.group_size = group->get<std::int64_t>();
  }
  if (section.contains("scale_dtype")) {
    const std::string& dtype = string_field(section, "scale_dtype", source);
    SIEVE_USER_CHECK(dtype == "f16" || dtype == "f32", "{}: quantization.scale_dtype '{}' must be 'f16' or 'f32'",
                     source, dtype);
    plan.int4_scale_dtype = dtype == "f16" ? core::DType::f16 : core::DType::f32;
  }
  return plan;
}

json quantization_section(const QuantizationPlan& plan) {
  json section = {{"scheme", plan.scheme}};
  if (uses(plan, Precision::int8)) section["activations"] = activation_mode_name(plan.activations);
  if (uses(plan, Precision::int4)) {
    section["group_size"] = plan.group_size;
    section["scale_dtype"] = core::dtype_name(plan.int4_scale_dtype);
  }
  json layers = json::object();
  for (const auto& [path, precision] : plan.layers) layers[path] = precision_name(precision);
  section["layers"] = layers;
  return section;
}

}  // namespace sieve::compress
