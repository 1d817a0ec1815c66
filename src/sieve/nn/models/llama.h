// The LLaMA-style decoder LM (Hugging Face LlamaForCausalLM semantics and parameter names):
// pre-norm blocks of RMSNorm → attention → residual, RMSNorm → SwiGLU MLP → residual; a final
// RMSNorm and an untied or tied LM head; no biases.
// Letters: B batch, T tokens, C channels (hidden_size), V vocab.
#pragma once

#include <memory>
#include <vector>

#include "sieve/nn/attention/attention.h"
#include "sieve/nn/layers.h"
#include "sieve/nn/models/llama_config.h"

namespace sieve::nn {

class DecoderBlock : public Module {
 public:
  DecoderBlock(const LlamaConfig& config, std::int64_t layer, core::Rng& rng);
  Tensor forward(const Tensor& x, LayerKvCache* cache) const;  // [B, T, C] → [B, T, C]

 private:
  std::shared_ptr<RMSNorm> input_layernorm_, post_attention_layernorm_;
  std::shared_ptr<Attention> self_attn_;
  std::shared_ptr<SwiGluMlp> mlp_;
};

// The transformer body: embeddings, blocks, final norm ("model." in parameter names).
class LlamaBackbone : public Module {
 public:
  LlamaBackbone(const LlamaConfig& config, core::Rng& rng);
  Tensor forward(const Tensor& ids, KvCache* cache) const;  // int64 [B, T] → [B, T, C]
  const Embedding& embed_tokens() const { return *embed_tokens_; }
  // See LlamaForCausalLM::set_activation_checkpointing.
  void set_activation_checkpointing(bool on) { activation_checkpointing_ = on; }
  bool activation_checkpointing() const { return activation_checkpointing_; }

 private:
  std::shared_ptr<Embedding> embed_tokens_;
  std::vector<std::shared_ptr<DecoderBlock>> layers_;
  std::shared_ptr<RMSNorm> norm_;
  bool activation_checkpointing_ = false;
};

class LlamaForCausalLM : public Module {
 public:
  // Weights initialised from `seed` (N(0, 0.02²), residual projections scaled by depth, norms 1).
  LlamaForCausalLM(LlamaConfig config, std::uint64_t seed);

  const LlamaConfig& config() const { return config_; }
  // ids int64 [B, T] → logits [B, T, V]. With a cache, ids are the newest tokens.
  Tensor forward(const Tensor& ids, KvCache* cache = nullptr) const;
  // The logits of the last position only, [B, V]: what sampling needs, without the output head
  // running over (and keeping) every prompt position.
  Tensor next_token_logits(const Tensor& ids, KvCache* cache) const;
  // Mean next-token cross-entropy of logits(ids) against targets [B, T].
  Tensor loss(const Tensor& ids, const Tensor& targets) const;
  // An empty cache for `batch` sequences of up to `capacity` tokens.
  KvCache make_cache(std::int64_t batch, std::int64_t capacity) const;

  // When on, a forward with grad mode on and no KV cache runs each decoder block through
  // nn::checkpoint: the block's activations are recomputed in backward instead of kept (see
  // NOTE [Activation checkpointing] in sieve/nn/activation_checkpoint.h). Values and gradients
  // are unchanged; it costs one extra forward of every block per backward. Off by default.
  void set_activation_checkpointing(bool on) { model_->set_activation_checkpointing(on); }
  bool activation_checkpointing() const { return model_->activation_checkpointing(); }

 private:
  Tensor hidden_states(const Tensor& ids, KvCache* cache) const;  // [B, T, C], length checked
  Tensor head(const Tensor& h) const;                              // [..., C] → [..., V]
  LlamaConfig config_;
  std::shared_ptr<LlamaBackbone> model_;
  std::shared_ptr<Linear> lm_head_;  // null when tie_word_embeddings
};

}  // namespace sieve::nn
