// Dense causal multi-head attention with grouped-query support and RoPE, through the fused
// flash-style kernel. Letters: B batch, T tokens, C channels, H heads, Hkv kv heads, D head dim.
#pragma once

#include "sieve/nn/attention/attention.h"
#include "sieve/nn/layers.h"

namespace sieve::nn {

class DenseAttention : public Attention {
 public:
  // Layer `layer`'s widths (LlamaConfig::heads / kv_heads).
  DenseAttention(const LlamaConfig& config, std::int64_t layer, core::Rng& rng);
  Tensor forward(const Tensor& x, LayerKvCache* cache) const override;
  // The q/k/v/o projections run once over all packed tokens; RoPE, the cache append and the
  // attention itself per sequence.
  Tensor forward_packed(const Tensor& x, const PackedSequences& sequences) const override;

 private:
  std::int64_t heads_, kv_heads_, head_dim_;
  float rope_theta_;
  std::shared_ptr<Linear> q_proj_, k_proj_, v_proj_, o_proj_;
};

}  // namespace sieve::nn
