#include "sieve/nn/models/trimodal/encoder_block.h"

#include <cmath>

#include "sieve/ops/arithmetic.h"
#include "sieve/ops/attention.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::nn {

double residual_init_std(std::int64_t depth) {
  return kTriModalInitStd / std::sqrt(2.0 * static_cast<double>(std::max<std::int64_t>(depth, 1)));
}

MultiHeadAttention::MultiHeadAttention(const TriModalConfig& config, double out_std, core::Rng& rng)
    : heads_(config.num_heads), head_dim_(config.head_dim()) {
  const std::int64_t c = config.hidden_size;
  q_proj_ = register_module("q_proj", std::make_shared<Linear>(c, c, false, kTriModalInitStd, rng));
  k_proj_ = register_module("k_proj", std::make_shared<Linear>(c, c, false, kTriModalInitStd, rng));
  v_proj_ = register_module("v_proj", std::make_shared<Linear>(c, c, false, kTriModalInitStd, rng));
  o_proj_ = register_module("o_proj", std::make_shared<Linear>(c, c, false, out_std, rng));
}

Tensor MultiHeadAttention::forward(const Tensor& x, const Tensor& context, std::span<const std::int64_t> key_lengths,
                                   bool causal) const {
  const std::int64_t batch = x.size(0), tokens = x.size(1), keys = context.size(1);
  const Tensor q = ops::reshape(q_proj_->forward(x), {batch, tokens, heads_, head_dim_});
  const Tensor k = ops::reshape(k_proj_->forward(context), {batch, keys, heads_, head_dim_});
  const Tensor v = ops::reshape(v_proj_->forward(context), {batch, keys, heads_, head_dim_});
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim_));
  const Tensor attended = causal ? ops::causal_attention(q, k, v, scale) : ops::attention(q, k, v, scale, key_lengths);
  return o_proj_->forward(ops::reshape(attended, {batch, tokens, heads_ * head_dim_}));
}

TransformerBlock::TransformerBlock(const TriModalConfig& config, std::int64_t depth, core::Rng& rng) {
  const auto eps = static_cast<float>(config.norm_eps);
  const double out_std = residual_init_std(depth);
  attn_norm_ = register_module("attn_norm", std::make_shared<RMSNorm>(config.hidden_size, eps));
  attn_ = register_module("attn", std::make_shared<MultiHeadAttention>(config, out_std, rng));
  mlp_norm_ = register_module("mlp_norm", std::make_shared<RMSNorm>(config.hidden_size, eps));
  mlp_ = register_module("mlp", std::make_shared<SwiGluMlp>(config.hidden_size, config.intermediate_size, kTriModalInitStd,
                                                            out_std, rng));
}

Tensor TransformerBlock::forward(const Tensor& x, std::span<const std::int64_t> lengths, bool causal) const {
  const Tensor normed = attn_norm_->forward(x);
  const Tensor h = ops::add(x, attn_->forward(normed, normed, lengths, causal));
  return ops::add(h, mlp_->forward(mlp_norm_->forward(h)));
}

}  // namespace sieve::nn
