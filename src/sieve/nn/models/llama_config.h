// Configuration of the LLaMA-style decoder LM. Field names follow Hugging Face's
// config.json for LlamaForCausalLM, so a model directory converts both ways without a table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sieve::nn {

// Which attention each layer runs (config.json's "attention" object; docs/sparse-attention.md):
//   dense   the fused causal kernel
//   local   each token sees only the W tokens up to itself (the sparse kernel's local branch)
//   sparse  local + dynamic global tokens (CNN scorer) + LSH buckets
// `type` applies to every layer unless `layers` names one kind per layer, so stacks of local and
// sparse layers can be built. The remaining fields tune local and sparse layers.
struct AttentionConfig {
  std::string type = "dense";
  std::vector<std::string> layers;  // empty, or num_hidden_layers entries
  std::int64_t window = 256;        // W, >= 64
  std::int64_t global_cap = 256;    // G, >= 1
  std::int64_t lsh_keys = 64;       // C, >= 1: same-bucket keys per query and round
  std::int64_t lsh_rounds = 1;      // R, >= 0
  std::int64_t lsh_buckets = 0;     // per round, even; 0: the power of two nearest T / C
  double threshold = 0.3;           // τ in [0, 1]: global when σ(score) >= τ ...
  double keep_ratio = 0.0;          // ... or, when in (0, 1], the top share of tokens (budget mode)
  std::int64_t scorer_channels = 32;  // width of the importance scorer's hidden layer
  std::int64_t scorer_kernel = 5;     // its depthwise convolutions' kernel size
  std::int64_t dense_below = 2560;    // shorter sequences run the dense kernel (measured crossover)

  // The kind of layer `layer`.
  const std::string& kind(std::int64_t layer) const {
    return layers.empty() ? type : layers.at(static_cast<std::size_t>(layer));
  }
};

// Per-layer widths of a structurally pruned model (config.json's "pruning" object; sieve prune,
// docs/compression.md). Each array is empty (every layer has the top-level width) or holds one
// entry per layer. Head dim stays hidden_size / the top-level num_attention_heads, so a pruned
// layer's q/o projections are heads(layer) x head_dim wide instead of hidden_size.
struct LayerWidths {
  std::vector<std::int64_t> num_attention_heads;
  std::vector<std::int64_t> num_key_value_heads;
  std::vector<std::int64_t> intermediate_size;

  bool empty() const {
    return num_attention_heads.empty() && num_key_value_heads.empty() && intermediate_size.empty();
  }
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
  LayerWidths pruning;

  std::int64_t head_dim() const { return hidden_size / num_attention_heads; }
  // The widths of layer `layer`: its entry in `pruning`, or the top-level field.
  std::int64_t heads(std::int64_t layer) const { return width(pruning.num_attention_heads, layer, num_attention_heads); }
  std::int64_t kv_heads(std::int64_t layer) const {
    return width(pruning.num_key_value_heads, layer, num_key_value_heads);
  }
  std::int64_t intermediate(std::int64_t layer) const {
    return width(pruning.intermediate_size, layer, intermediate_size);
  }
  bool pruned() const { return !pruning.empty(); }
  // The first layer with local or sparse attention, which other tools' formats cannot carry.
  std::optional<std::int64_t> first_non_dense_layer() const {
    for (std::int64_t layer = 0; layer < num_hidden_layers; ++layer)
      if (attention.kind(layer) != "dense") return layer;
    return std::nullopt;
  }

 private:
  static std::int64_t width(const std::vector<std::int64_t>& per_layer, std::int64_t layer, std::int64_t all) {
    return per_layer.empty() ? all : per_layer.at(static_cast<std::size_t>(layer));
  }
};

}  // namespace sieve::nn
