// The "quantization" section of a quantized model's config.json (docs/compression.md):
//   "quantization": {
//     "scheme": "int8" | "int4" | "mixed",
//     "activations": "dynamic" | "static",              int8 layers; default dynamic
//     "group_size": 64, "scale_dtype": "f16" | "f32",   int4 layers; default 64, f16
//     "layers": {"lm_head": "int8", "model.layers.0.mlp.down_proj": "int8", ...}
//   }
// `layers` names a precision (f32, int8, int4) per Linear path; a Linear it does not name is f32.
// The same form, as a file of its own, is a plan for `sieve quantize --scheme mixed --plan`.
// Config files are untrusted: every problem is a core::UserError naming the file and the field.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "sieve/compress/quantization_plan.h"

namespace sieve::compress {

// Parses and checks the section's own structure (known keys, types and names, a group size
// INT4 allows). Whether its layers are Linears of the model is validate_plan's check.
QuantizationPlan parse_quantization_section(const nlohmann::json& section, std::string_view source);

nlohmann::json quantization_section(const QuantizationPlan& plan);

}  // namespace sieve::compress
