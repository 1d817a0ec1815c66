// config.json of the trimodal model (nn::TriModalModel): Sieve's own format, model_type
// "sieve_trimodal". Like the LLaMA config (model_config.h) it is untrusted input: every problem is
// a core::UserError naming the file and the field.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>

#include "sieve/nn/models/trimodal/trimodal_model.h"

namespace sieve::io {

inline constexpr const char* kTriModalArchitecture = "SieveTriModalModel";

// Validates `json` and returns the config. `source` names the file in messages.
//
// Every TriModalConfig field is required, under its C++ name, with model_type "sieve_trimodal"
// and architectures ["SieveTriModalModel"]; any other key is an error (the format is Sieve's own,
// so an unknown key is a typo, not another tool's field). Integers lie in ranges far past any
// model this machine trains yet small enough that no size product overflows: widths
// (hidden_size, embed_dim) up to 16384, intermediate_size and sequence lengths (max_text_tokens,
// max_audio_tokens) up to 65536, channels and image sides up to 4096, image_patch up to 256,
// n_mels in [8, 1024], num_layers up to 256, fusion_layers up to 64, num_heads up to 1024,
// vocab_size and class counts up to 2^20. norm_eps lies in (0, 1); fusion is one of cmaf, fixed,
// concat. Checked: hidden_size % num_heads == 0, max_image_side a multiple of image_patch.
nn::TriModalConfig parse_trimodal_config(const nlohmann::json& json, std::string_view source);

// parse_trimodal_config() of JSON text (parse_config_json_text's limits).
nn::TriModalConfig parse_trimodal_config_text(std::string_view text, std::string_view source);

// The config as JSON: parse_trimodal_config(trimodal_config_to_json(c)) == c.
nlohmann::json trimodal_config_to_json(const nn::TriModalConfig& config);

// Reads and validates a config.json, and checks that the model it describes fits the memory
// limit (model_limits.h) — before anything is allocated for it.
nn::TriModalConfig load_trimodal_config(const std::filesystem::path& config_json);

// Writes trimodal_config_to_json(config) atomically, indented for people to read.
void save_trimodal_config(const std::filesystem::path& path, const nn::TriModalConfig& config);

}  // namespace sieve::io
