// libFuzzer target: config.json text → the parser of its family (model_type: parse_llama_config,
// parse_trimodal_config). A core::UserError is the expected answer to a bad config; anything else (another exception, a sanitizer report, an accepted
// config that does not survive a round trip through JSON) is a bug and crashes the run.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sieve/core/error.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_family.h"
#include "sieve/io/trimodal_config.h"

namespace {

bool same(const sieve::nn::LlamaConfig& a, const sieve::nn::LlamaConfig& b) {
  return a.vocab_size == b.vocab_size && a.hidden_size == b.hidden_size &&
         a.intermediate_size == b.intermediate_size && a.num_hidden_layers == b.num_hidden_layers &&
         a.num_attention_heads == b.num_attention_heads && a.num_key_value_heads == b.num_key_value_heads &&
         a.max_position_embeddings == b.max_position_embeddings && a.rms_norm_eps == b.rms_norm_eps &&
         a.rope_theta == b.rope_theta && a.tie_word_embeddings == b.tie_word_embeddings &&
         a.bos_token_id == b.bos_token_id && a.eos_token_id == b.eos_token_id &&
         a.attention.type == b.attention.type;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto json = sieve::io::parse_config_json_text(text, "fuzz input");
    // What is accepted must be written and read back unchanged (as save/load do).
    if (sieve::io::model_family(json, "fuzz input") == sieve::nn::kTriModalFamily) {
      const auto config = sieve::io::parse_trimodal_config(json, "fuzz input");
      const auto again =
          sieve::io::parse_trimodal_config_text(sieve::io::trimodal_config_to_json(config).dump(2), "round trip");
      if (!(config == again)) {
        std::fprintf(stderr, "trimodal config changed in a JSON round trip\n");
        std::abort();
      }
      return 0;
    }
    const auto config = sieve::io::parse_llama_config(json, "fuzz input");
    const auto again =
        sieve::io::parse_llama_config_text(sieve::io::llama_config_to_json(config).dump(2), "round trip");
    if (!same(config, again)) {
      std::fprintf(stderr, "config changed in a JSON round trip\n");
      std::abort();
    }
  } catch (const sieve::core::UserError&) {
  }
  return 0;
}
