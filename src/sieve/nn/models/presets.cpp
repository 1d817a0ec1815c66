#include "sieve/nn/models/presets.h"

#include <fmt/ranges.h>

#include "sieve/core/error.h"

namespace sieve::nn {
namespace {

LlamaConfig make(std::int64_t vocab, std::int64_t dim, std::int64_t layers, std::int64_t heads, std::int64_t kv_heads,
                 std::int64_t hidden, std::int64_t context) {
  LlamaConfig c;
  c.vocab_size = vocab;
  c.hidden_size = dim;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.intermediate_size = hidden;
  c.max_position_embeddings = context;
  return c;
}

}  // namespace

std::vector<std::string> preset_names() { return {"tiny", "demo", "lm-17m", "lm-100m"}; }

LlamaConfig preset_config(const std::string& name) {
  if (name == "tiny") return make(512, 64, 2, 4, 2, 160, 128);
  if (name == "demo") return make(4096, 256, 4, 4, 4, 688, 256);
  if (name == "lm-17m") return make(8192, 384, 6, 6, 6, 1024, 256);
  if (name == "lm-100m") return make(8192, 768, 12, 12, 12, 2048, 1024);
  core::throw_user_error("unknown preset '{}' (known: {})", name, fmt::join(preset_names(), ", "));
}

}  // namespace sieve::nn
