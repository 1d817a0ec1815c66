// What a quantized model takes in memory, worked out from its config and plan before anything is
// built: the quantized counterpart of io::llama_footprint, which counts every Linear as f32 and
// so overestimates an INT4 model about 6x. The quantized loader checks this against the
// --max-model-bytes limit (io::check_bytes_fit).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sieve/compress/quantization_plan.h"
#include "sieve/core/tensor.h"
#include "sieve/nn/models/llama_config.h"

namespace sieve::compress {

struct QuantizedFootprint {
  std::int64_t f32_parameters = 0;          // elements of the parameters left f32
  std::int64_t quantized_layers = 0;
  std::int64_t quantized_tensor_bytes = 0;  // the tensors the quantized formats keep: INT8 q and
                                            // scales, INT4 packed and scales (f32 in memory)
  std::int64_t bytes = 0;  // all of it: the f32 parameters and buffers, the quantized tensors,
                           // the INT8 kernel's prepared copies and io::kBookkeepingBytesPerTensor a
                           // parameter tensor; saturates at INT64_MAX
};

// The weight shape [M, K] of the Linear at `path` ("lm_head", "model.layers.3.mlp.up_proj") in
// the model `config` describes, or nullopt when the model has no Linear there.
std::optional<core::Shape> linear_weight_shape(const nn::LlamaConfig& config, std::string_view path);

// The bytes of the tensors a quantized Linear [M, K] keeps at `precision` (int8 or int4) with the
// plan's settings (Int8LinearFormat / Int4LinearFormat; saturates at INT64_MAX).
std::int64_t quantized_tensor_bytes(std::int64_t M, std::int64_t K, Precision precision, const QuantizationPlan& plan);

// The footprint of the model `config` describes with `plan` applied, layer by layer from the plan.
// Plan entries that are not Linears of that model count for nothing (validate_plan refuses them).
// A size that overflows 64 bits is a UserError naming `source` (io::llama_footprint).
QuantizedFootprint quantized_footprint(const nn::LlamaConfig& config, const QuantizationPlan& plan,
                                       std::string_view source);

// Rejects a quantized model whose footprint is more than io::max_model_bytes(): a UserError
// naming `source`, the size, what makes it, the limit and --max-model-bytes.
void check_quantized_model_fits(const nn::LlamaConfig& config, const QuantizationPlan& plan, std::string_view source);

}  // namespace sieve::compress
