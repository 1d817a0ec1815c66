// Model families: config.json's model_type names the class a directory holds, so that the code
// that loads, saves and inspects models (nn::Model) takes any family through one path.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sieve/nn/model.h"

namespace sieve::io {

inline constexpr const char* kLlamaFamily = "llama";

// The family of a config: its model_type, "llama" when it has none (parse_llama_config accepts
// a config without one, as older HF configs are). A model_type that is not a string, or a
// config that is not an object, is a UserError naming `source`. Any string is returned, known
// or not: load_any_model refuses an unknown one.
std::string model_family(const nlohmann::json& config, std::string_view source);
// model_family of dir/config.json; a missing directory or config is a UserError.
std::string model_family(const std::filesystem::path& dir);

// The model of `dir`, built by its family's loader: io::load_model for "llama",
// load_trimodal_model for "sieve_trimodal". Another family is a UserError listing the known ones.
std::unique_ptr<nn::Model> load_any_model(const std::filesystem::path& dir);
// Writes the model with its family's writer (save_model, save_trimodal_model).
void save_any_model(const nn::Model& model, const std::filesystem::path& dir);

}  // namespace sieve::io
