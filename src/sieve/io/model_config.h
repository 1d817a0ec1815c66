// config.json for LlamaForCausalLM: Hugging Face's field names, validated, so a model directory
// moves between Sieve and PyTorch as is. Config files are untrusted input: every problem is a
// core::UserError naming the file and the field.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>

#include "sieve/nn/models/llama_config.h"

namespace sieve::io {

// Validates `json` and returns the config. `source` names the file in messages.
//
// Required: vocab_size, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads
// (integers in [1, 2^31]). Optional: num_key_value_heads (default: num_attention_heads),
// max_position_embeddings, rms_norm_eps, rope_theta (finite numbers > 0), tie_word_embeddings
// (bool), bos_token_id / eos_token_id (integers in [0, vocab_size)), and Sieve's own
// "attention": {"type": "dense"}. Checked: hidden_size % num_attention_heads == 0,
// num_attention_heads % num_key_value_heads == 0, head_dim even (RoPE rotates pairs).
// Sieve's "pruning" section (a structurally pruned model; nn::LayerWidths) holds optional arrays
// num_attention_heads, num_key_value_heads, intermediate_size of num_hidden_layers integers >= 1,
// each layer's heads a multiple of its kv heads; head_dim stays hidden_size / the top-level
// num_attention_heads.
// If present, architectures must be ["LlamaForCausalLM"] and model_type "llama", and the HF
// fields that would change the computation must match what Sieve runs (head_dim,
// hidden_act "silu", attention_bias / mlp_bias false, rope_scaling null) — a config Sieve
// would silently run differently is rejected. Other keys are ignored (HF configs carry many).
nn::LlamaConfig parse_llama_config(const nlohmann::json& json, std::string_view source);

// JSON text of a config file, parsed with the limits an untrusted file needs (nesting depth);
// malformed JSON is a core::UserError with the position.
nlohmann::json parse_config_json_text(std::string_view text, std::string_view source);

// parse_llama_config() of JSON text.
nn::LlamaConfig parse_llama_config_text(std::string_view text, std::string_view source);

// The JSON of a config file (size-limited, then parse_config_json_text), unvalidated: for
// readers of sections other than the LlamaConfig fields (the quantization section).
nlohmann::json read_config_json(const std::filesystem::path& config_json);

// Reads and validates a config.json, and checks that the model it describes fits the memory
// limit (check_model_fits in model_limits.h) — before anything is allocated for it.
nn::LlamaConfig load_llama_config(const std::filesystem::path& config_json);

// The config as HF-style JSON (architectures, model_type and every LlamaConfig field), written
// over `base` — pass the JSON a config was loaded from to keep the keys Sieve does not use.
// parse_llama_config(llama_config_to_json(c)) == c.
nlohmann::json llama_config_to_json(const nn::LlamaConfig& config, nlohmann::json base = nlohmann::json::object());

// Writes llama_config_to_json(config) atomically, indented for people to read.
void save_llama_config(const std::filesystem::path& path, const nn::LlamaConfig& config);

}  // namespace sieve::io
