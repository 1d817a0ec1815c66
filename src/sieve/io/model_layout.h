// What a LlamaForCausalLM config implies, worked out before anything is built: the name and
// shape of every parameter (the names the model registers; tests/io/test_model_layout.cpp
// keeps the two in step) and the memory the built model takes. Configs are untrusted, so the
// sizes are computed with checked arithmetic: a count that overflows is a UserError, never a
// wrapped number.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sieve/core/tensor.h"
#include "sieve/nn/models/llama_config.h"

namespace sieve::io {

struct TensorSpec {
  std::string name;
  core::Shape shape;
  std::string_view fields;  // the shape in config fields, for messages: "vocab_size × hidden_size"
};

// The parameters of decoder layer `layer` (its attention kind and, in a pruned model, its
// widths), named relative to the layer ("self_attn.q_proj.weight").
std::vector<TensorSpec> llama_layer_parameters(const nn::LlamaConfig& config, std::int64_t layer);

// Every parameter of the model, with its full name. As long as the model is deep: call it on a
// config that passed llama_footprint / check_model_fits.
std::vector<TensorSpec> llama_parameters(const nn::LlamaConfig& config);

struct ModelFootprint {
  std::int64_t parameters = 0;       // elements of every parameter
  std::int64_t parameter_tensors = 0;
  std::int64_t buffer_elements = 0;  // f32 tensors built with the model that are not parameters
                                     // (the sparse layers' LSH rotations)
  std::int64_t bytes = 0;            // all of that as f32, plus kBookkeepingBytesPerTensor per
                                     // parameter tensor; saturates at INT64_MAX
  TensorSpec largest;                // the largest single tensor
};

// What each parameter tensor costs beyond its data (its module, handle, storage and name): an
// estimate that keeps a config of millions of tiny layers from passing as small.
inline constexpr std::int64_t kBookkeepingBytesPerTensor = 1024;

// The footprint of a model built from `config`, in closed form (no per-layer lists) unless the
// config lists per-layer kinds or widths, which bounds the layers by the config file's size. An element
// or tensor count that overflows 64 bits is a UserError naming `source` and the size fields.
ModelFootprint llama_footprint(const nn::LlamaConfig& config, std::string_view source);

}  // namespace sieve::io
