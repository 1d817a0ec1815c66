// A quantization plan: which precision each Linear of a model gets, by its module path
// ("model.layers.0.self_attn.q_proj", "lm_head"). The uniform schemes (int8, int4) quantize every
// projection; a mixed plan names a precision per layer — what the sensitivity analysis
// produces, or a user writes. What stays f32 in every scheme: the token embedding (a row lookup,
// not a product: nothing to gain in speed, and the row error would reach every layer), the
// lm_head when it is tied to the embedding (it is the embedding), the norms, and the sparse
// attention scorers' small Linears (a threshold decision on their output picks the tokens
// attention keeps; they hold a few thousand weights, so quantizing them saves nothing). A mixed
// plan may still quantize a scorer Linear by naming it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sieve/core/dtype.h"
#include "sieve/nn/layers.h"

namespace sieve::compress {

enum class Precision { f32, int8, int4 };
std::string_view precision_name(Precision precision);  // "f32", "int8", "int4"
std::optional<Precision> precision_from_name(std::string_view name);

enum class ActivationMode { dynamic, calibrated };  // names: "dynamic", "static"
std::string_view activation_mode_name(ActivationMode mode);
std::optional<ActivationMode> activation_mode_from_name(std::string_view name);

inline constexpr std::int64_t kDefaultInt4GroupSize = 64;

struct QuantizationPlan {
  std::string scheme = "int8";  // "int8", "int4" or "mixed": what config.json records
  // INT4 layers: group size G (a multiple of 32 in [32, 128]) and how the file stores the
  // scales (f16 by default: a quarter bit per weight at G = 64; f32 in memory either way).
  std::int64_t group_size = kDefaultInt4GroupSize;
  core::DType int4_scale_dtype = core::DType::f16;
  // INT8 layers: activations quantized per token at run time, or with one static scale per
  // layer from calibration (calibrate_input_ranges).
  ActivationMode activations = ActivationMode::dynamic;
  // Linear path → precision; Linears not named stay f32.
  std::map<std::string, Precision> layers;
};

inline constexpr std::string_view kSchemes[] = {"int8", "int4", "mixed"};

// Whether the plan quantizes any layer (a plan may name every layer f32).
bool quantizes_any(const QuantizationPlan& plan);

// Every Linear of `model` with its module path, in registration order.
std::vector<std::pair<std::string, nn::Linear*>> model_linears(const nn::Module& model);

// Whether the uniform schemes quantize this Linear (not a sparse attention scorer's).
bool quantized_by_default(std::string_view linear_path);

// The int8 or int4 scheme: every Linear quantized_by_default at that precision.
QuantizationPlan uniform_plan(const nn::Module& model, Precision precision);

// A plan with explicit per-layer choices (scheme "mixed"); the settings of `base` (group size,
// scale dtype, activations) are kept.
QuantizationPlan mixed_plan(std::map<std::string, Precision> layers, const QuantizationPlan& base = {});

// Checks `plan` against `model`: a known scheme, a valid group size, every named layer a Linear
// of the model, and a uniform scheme's layers at its own precision (or f32). Problems are
// core::UserErrors naming `source` (where the plan came from) and the field.
void validate_plan(const QuantizationPlan& plan, const nn::Module& model, std::string_view source);

}  // namespace sieve::compress
