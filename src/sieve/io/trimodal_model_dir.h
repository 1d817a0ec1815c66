// A trimodal model directory: config.json (trimodal_config.h) + model.safetensors, the layout of
// a LLaMA one (model_dir.h); io::load_any_model (model_family.h) picks this loader by model_type.
#pragma once

#include <filesystem>
#include <memory>

#include "sieve/nn/models/trimodal/trimodal_model.h"

namespace sieve::io {

// Builds the model from dir/config.json and loads dir/model.safetensors. The directory is
// untrusted: the model must fit the memory limit (model_limits.h), and the weights' header must
// hold exactly the tensors the config implies (trimodal_layout.h), each F32 with its shape,
// before the model is built. A directory of another family is a UserError saying so.
std::unique_ptr<nn::TriModalModel> load_trimodal_model(const std::filesystem::path& dir);
// Writes config.json and model.safetensors (each atomically), creating `dir`.
void save_trimodal_model(const nn::TriModalModel& model, const std::filesystem::path& dir);

}  // namespace sieve::io
