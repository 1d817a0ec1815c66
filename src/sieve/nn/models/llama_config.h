// Configuration of the LLaMA-style decoder LM. Field names follow Hugging Face's
// config.json for LlamaForCausalLM, so a model directory converts both ways without a table.
#pragma once

#include <cstdint>
#include <string>

namespace sieve::nn {

// Which attention a layer runs. "dense" is the fused causal kernel; sparse variants arrive
// with the sparse-attention module and extend this struct.
struct AttentionConfig {
  std::string type = "dense";
};

struct LlamaConfig {
  std::int64_t vocab_size = 8192;
  std::int64_t hidden_size = 384;
  std::int64_t intermediate_size = 1024;
  std::int64_t num_hidden_layers = 6;
  std::int64_t num_attention_heads = 6;
  std::int64_t num_key_value_heads = 6;
  std::int64_t max_position_embeddings = 256;
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;
  std::int64_t bos_token_id = 1;
  std::int64_t eos_token_id = 2;
  AttentionConfig attention;

  std::int64_t head_dim() const { return hidden_size / num_attention_heads; }
};

}  // namespace sieve::nn
