// A model directory: config.json + model.safetensors (+ tokenizer.model), the layout Hugging
// Face uses, so a directory moves between Sieve and PyTorch as is.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "sieve/io/model_layout.h"
#include "sieve/io/safetensors.h"
#include "sieve/nn/models/llama.h"

namespace sieve::io {

inline constexpr const char* kConfigFile = "config.json";
inline constexpr const char* kWeightsFile = "model.safetensors";
inline constexpr const char* kTokenizerFile = "tokenizer.model";
// The config.json section of a quantized model directory (docs/compression.md); load_model
// refuses such a directory, compress::load_quantized_model reads it.
inline constexpr const char* kQuantizationSection = "quantization";

// Copies every named tensor of `weights` into the module's parameters. Every parameter must be
// present with its exact shape; extra tensors are an error too (a wrong model, not a subset).
void load_parameters(nn::Module& module, const std::filesystem::path& safetensors_file);
void save_parameters(const nn::Module& module, const std::filesystem::path& safetensors_file);
// load_parameters of an open file.
void copy_parameters(nn::Module& module, const SafetensorsFile& file);

// Checks the weights' header against `specs` (the parameters a config implies: every tensor
// present, F32, with its shape, and no others), so that a wrong file fails before the model is
// built. `described_by` names where the config came from. Each family's loader calls it.
void check_weights_match(std::span<const TensorSpec> specs, const SafetensorsFile& weights,
                         const std::string& described_by);

// Builds the model from dir/config.json and loads dir/model.safetensors. Errors name the
// missing or malformed file. `adjust`, when given, edits the configuration before the model is
// built (e.g. command-line attention knobs); a change that alters the parameters makes the
// weights not fit, which is reported as such. The directory is untrusted: the model must fit
// the memory limit (model_limits.h), and the weights' header must hold exactly the tensors the
// config implies, each F32 with its shape, before the model is built and initialised. A
// quantized directory, or one of another model family (model_family.h), is a UserError saying so.
std::unique_ptr<nn::LlamaForCausalLM> load_model(const std::filesystem::path& dir,
                                                 const std::function<void(nn::LlamaConfig&)>& adjust = {});
// Writes config.json and model.safetensors (each atomically), creating `dir`.
void save_model(const nn::LlamaForCausalLM& model, const std::filesystem::path& dir);

}  // namespace sieve::io
