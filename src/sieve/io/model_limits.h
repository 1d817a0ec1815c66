// How much memory a model built from an untrusted config may take, checked before anything is
// allocated. The limit is a process setting, like a ulimit: the CLI sets it once from
// --max-model-bytes, and every loader (load_llama_config, load_model, their trimodal counterparts)
// checks against it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sieve/nn/models/llama_config.h"
#include "sieve/nn/models/trimodal/trimodal_config.h"

namespace sieve::io {

// The machine's physical memory in bytes, or 0 if the system does not say.
std::uint64_t physical_memory_bytes();

// The limit in force: the one set with set_max_model_bytes, else the physical memory (else none).
std::uint64_t max_model_bytes();
// Sets the limit for this process; 0 restores the default.
void set_max_model_bytes(std::uint64_t bytes);

// Rejects a model that would take `bytes` (INT64_MAX: too large to count) when that is more than
// max_model_bytes(): a core::UserError naming `source`, the size, `makeup` (what the bytes are
// and the config fields that make them, for the message), the limit and --max-model-bytes.
// check_model_fits uses it for f32 models; loaders of other layouts (a quantized model) compute
// their own bytes and check them here.
void check_bytes_fit(std::int64_t bytes, std::string_view source, std::string_view makeup);

// "1.5 GiB": a size for messages.
std::string human_bytes(std::uint64_t bytes);

// Rejects a config whose model (llama_footprint: f32 parameters and buffers) would take more
// than max_model_bytes(), or whose size overflows: a core::UserError naming `source` (the
// config file), the size and the fields that make it.
void check_model_fits(const nn::LlamaConfig& config, std::string_view source);
// The same for the trimodal model (trimodal_footprint in trimodal_layout.h).
void check_model_fits(const nn::TriModalConfig& config, std::string_view source);

}  // namespace sieve::io
