// The blocks of the trimodal model: multi-head attention without position rotation (positions
// are learned tables added at the front-ends), as self-attention (bidirectional with key padding,
// or causal for the text LM) and as cross-attention, and the pre-norm transformer block the
// shared trunk and the concatenation fusion stack.
// Letters: B batch, T query tokens, S key tokens, C channels.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "sieve/nn/layers.h"
#include "sieve/nn/models/trimodal/trimodal_config.h"

namespace sieve::nn {

// The init std of the model's projections and embeddings (GPT-2's).
inline constexpr double kTriModalInitStd = 0.02;

class MultiHeadAttention : public Module {
 public:
  // `out_std`: the output projection's init (scaled down with depth by the caller).
  MultiHeadAttention(const TriModalConfig& config, double out_std, core::Rng& rng);
  // x [B, T, C] attends to context [B, S, C]; each row b sees context keys < key_lengths[b]
  // (empty: all S). With `causal` (self-attention only: context is x) query t sees keys <= t.
  Tensor forward(const Tensor& x, const Tensor& context, std::span<const std::int64_t> key_lengths,
                 bool causal) const;

 private:
  std::int64_t heads_, head_dim_;
  std::shared_ptr<Linear> q_proj_, k_proj_, v_proj_, o_proj_;
};

class TransformerBlock : public Module {
 public:
  TransformerBlock(const TriModalConfig& config, std::int64_t depth, core::Rng& rng);
  // x [B, T, C] → [B, T, C]: x + attn(norm(x)), then + mlp(norm(·)).
  Tensor forward(const Tensor& x, std::span<const std::int64_t> lengths, bool causal) const;

 private:
  std::shared_ptr<RMSNorm> attn_norm_, mlp_norm_;
  std::shared_ptr<MultiHeadAttention> attn_;
  std::shared_ptr<SwiGluMlp> mlp_;
};

// Residual projections' init std for a stack of `depth` blocks (GPT-2's depth scaling).
double residual_init_std(std::int64_t depth);

}  // namespace sieve::nn
