// The LLaMA-style decoder LM (Hugging Face LlamaForCausalLM semantics and parameter names):
// pre-norm blocks of RMSNorm → attention → residual, RMSNorm → SwiGLU MLP → residual; a final
// RMSNorm and an untied or tied LM head; no biases.
// Letters: B batch, T tokens, C channels (hidden_size), V vocab.
#pragma once

#include <limits>
#include <memory>
#include <span>
#include <vector>

#include "sieve/nn/attention/attention.h"
#include "sieve/nn/layers.h"
#include "sieve/nn/model.h"
#include "sieve/nn/models/llama_config.h"

namespace sieve::nn {

class SparseAttention;

class DecoderBlock : public Module {
 public:
  DecoderBlock(const LlamaConfig& config, std::int64_t layer, core::Rng& rng);
  Tensor forward(const Tensor& x, LayerKvCache* cache) const;  // [B, T, C] → [B, T, C]
  // x [1, N, C] packing several sequences (Attention::forward_packed) → [1, N, C].
  Tensor forward_packed(const Tensor& x, const PackedSequences& sequences) const;

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
  // ids int64 [1, N] packing several sequences, one cache each → [1, N, C].
  Tensor forward_packed(const Tensor& ids, std::span<const std::int64_t> lengths, std::span<KvCache* const> caches) const;
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

class LlamaForCausalLM : public Model {
 public:
  // Weights initialised from `seed` (N(0, 0.02²), residual projections scaled by depth, norms 1).
  LlamaForCausalLM(LlamaConfig config, std::uint64_t seed);
  std::string family() const override { return "llama"; }

  const LlamaConfig& config() const { return config_; }
  // ids int64 [B, T] → logits [B, T, V]. With a cache, ids are the newest tokens.
  Tensor forward(const Tensor& ids, KvCache* cache = nullptr) const;
  // The logits of the last position only, [B, V]: what sampling needs, without the output head
  // running over (and keeping) every prompt position.
  Tensor next_token_logits(const Tensor& ids, KvCache* cache) const;
  // One step of continuous batching: several independent sequences, each with its own cache
  // (batch 1) at its own position, in one forward. ids int64 [1, N] holds the sequences' new
  // tokens one after another (sequence i: lengths[i] >= 1 tokens). Returns the next-token logits
  // after each sequence's last new token, [S, V]. Embedding, norms, MLPs, projections and the
  // head run once over all rows (a GEMM instead of S GEMVs); attention runs per sequence.
  Tensor next_token_logits_packed(const Tensor& ids, std::span<const std::int64_t> lengths,
                                  std::span<KvCache* const> caches) const;
  // Mean next-token cross-entropy of logits(ids) against targets [B, T] — plus, while scorer
  // distillation is on and grad mode is on, the sparse layers' distillation losses (below).
  Tensor loss(const Tensor& ids, const Tensor& targets) const;
  // forward(ids) in two halves, for losses on the last hidden state (distillation's hidden-state
  // matching): the final-norm hidden states [B, T, C] the output head reads (sequence length
  // checked), and the head, [..., C] → [..., V]. head(hidden_states(ids)) is forward(ids).
  Tensor hidden_states(const Tensor& ids, KvCache* cache = nullptr) const;
  Tensor head(const Tensor& h) const;
  // An empty cache for `batch` sequences of up to `capacity` tokens.
  KvCache make_cache(std::int64_t batch, std::int64_t capacity) const;

  // When on, a forward with grad mode on and no KV cache runs each decoder block through
  // nn::checkpoint: the block's activations are recomputed in backward instead of kept (see
  // NOTE [Activation checkpointing] in sieve/nn/activation_checkpoint.h). Values and gradients
  // are unchanged; it costs one extra forward of every block per backward. Off by default.
  void set_activation_checkpointing(bool on) { model_->set_activation_checkpointing(on); }
  bool activation_checkpointing() const { return model_->activation_checkpointing(); }

  // Scorer warm-up by distillation (NOTE [Scorer distillation] in nn/attention/sparse.cpp): sets
  // the weight on every sparse layer that has a scorer (0: off; local and dense layers have
  // none). While it is > 0, loss() with grad mode on returns
  //   LM loss + Σ_layers weight · BCE(scorer_l, dense-attention-peak target_l)
  // whose extra term trains only the scorers; a loss() under NoGradGuard (validation) is the LM
  // loss alone. Works with activation checkpointing: the term is counted once, from the forward.
  void set_scorer_distillation(float weight);
  float scorer_distillation() const { return scorer_distill_weight_; }
  // Dense-to-sparse blend (NOTE [Dense blend] in nn/attention/sparse.cpp): sets the dense share
  // on every sparse layer with a scorer (local layers stay local). 0: off.
  void set_dense_blend(float share);
  // The distillation emphasis α on every sparse layer with a scorer
  // (SparseAttention::set_scorer_distill_emphasis). 0: off.
  void set_scorer_distill_emphasis(float alpha);
  float dense_blend() const { return dense_share_; }
  // Sparse layers with a scorer: the ones distillation trains.
  std::int64_t scorer_layer_count() const { return static_cast<std::int64_t>(scorer_layers_.size()); }
  // The mean per-layer BCE (unweighted) of the last loss() that included distillation; NaN
  // before any.
  double last_scorer_distillation_loss() const { return last_distill_loss_; }
  // Sums over the loss() calls that included distillation since the last take: `bce` of their
  // mean per-layer BCE, `added` of what they added to the LM loss. The trainer uses them to log
  // the distillation loss and to report the LM loss of a step without it.
  struct ScorerDistillationTotals {
    double bce = 0.0;
    double added = 0.0;
    std::int64_t calls = 0;
  };
  ScorerDistillationTotals take_scorer_distillation_totals() const;

 private:
  Tensor lm_loss(const Tensor& ids, const Tensor& targets) const;
  LlamaConfig config_;
  std::shared_ptr<LlamaBackbone> model_;
  std::shared_ptr<Linear> lm_head_;  // null when tie_word_embeddings
  std::vector<std::shared_ptr<SparseAttention>> scorer_layers_;
  float scorer_distill_weight_ = 0.0f;
  float dense_share_ = 0.0f;
  mutable double last_distill_loss_ = std::numeric_limits<double>::quiet_NaN();
  mutable ScorerDistillationTotals distill_totals_;
};

}  // namespace sieve::nn
