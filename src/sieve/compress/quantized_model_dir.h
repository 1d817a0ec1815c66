// A quantized model directory: config.json with a "quantization" section
// (quantization_config.h), model.safetensors with the quantized Linears' tensors in place of
// their f32 weights, tokenizer.model as for any model. Tensor names, for a Linear at <path>:
//   int8   <path>.weight         I8  [M, K]            q, NOTE [Quantization formats]
//          <path>.weight_scale   F32 [M]               per output channel
//          <path>.input_scale    F32 [1]               static activations only
//   int4   <path>.weight_packed  U8  [M, ceil(K/2)]    two nibbles a byte, low nibble first
//          <path>.weight_scale   F16 or F32 [M, ceil(K/G)]   per group (quantization.scale_dtype)
// Every other parameter (embedding, norms, biases, f32 Linears) is F32 under its usual name.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include "sieve/nn/models/llama.h"

namespace sieve::compress {

// Whether dir/config.json has a quantization section (false when there is no config to read).
bool is_quantized_model_dir(const std::filesystem::path& dir);

// Writes config.json and model.safetensors (each atomically) of a model quantize_model has
// run on, creating `dir`. The plan written is plan_of(model).
void save_quantized_model(const nn::LlamaForCausalLM& model, const std::filesystem::path& dir);

// Builds the quantized model of `dir` for inference (its remaining parameters frozen). The
// directory is untrusted, checked as io::load_model checks a plain one: the config and its
// quantization section, and the memory the quantized model takes (quantized_footprint, not the
// f32 size) against io::max_model_bytes(), before the model is built; then every tensor of the
// weights' header present with the exact dtype and shape the config and plan imply and no
// others, before any weight is read; scales must be finite (and a static input scale > 0). The
// f32 model is built without random initialisation and the quantized Linears' f32 weights are
// released untouched. `adjust` edits the LlamaConfig before the model is built, as in
// io::load_model.
std::unique_ptr<nn::LlamaForCausalLM> load_quantized_model(const std::filesystem::path& dir,
                                                           const std::function<void(nn::LlamaConfig&)>& adjust = {});

}  // namespace sieve::compress
