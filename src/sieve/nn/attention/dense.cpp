#include "sieve/nn/attention/dense.h"

#include <cmath>

#include "sieve/ops/attention.h"
#include "sieve/ops/rope.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::nn {

DenseAttention::DenseAttention(const LlamaConfig& config, std::int64_t layer, core::Rng& rng)
    : heads_(config.heads(layer)),
      kv_heads_(config.kv_heads(layer)),
      head_dim_(config.head_dim()),
      rope_theta_(static_cast<float>(config.rope_theta)) {
  const std::int64_t channels = config.hidden_size;
  const double std = 0.02;
  // Residual projections are scaled down with depth so the residual stream's variance stays
  // put at initialisation (GPT-2's scheme).
  const double out_std = 0.02 / std::sqrt(2.0 * static_cast<double>(config.num_hidden_layers));
  q_proj_ = register_module("q_proj", std::make_shared<Linear>(channels, heads_ * head_dim_, false, std, rng));
  k_proj_ = register_module("k_proj", std::make_shared<Linear>(channels, kv_heads_ * head_dim_, false, std, rng));
  v_proj_ = register_module("v_proj", std::make_shared<Linear>(channels, kv_heads_ * head_dim_, false, std, rng));
  o_proj_ = register_module("o_proj", std::make_shared<Linear>(heads_ * head_dim_, channels, false, out_std, rng));
}

Tensor DenseAttention::forward(const Tensor& x, LayerKvCache* cache) const {
  const std::int64_t batch = x.size(0);
  const std::int64_t tokens = x.size(1);
  const std::int64_t position = cache != nullptr ? cache->length() : 0;
  // [B, T, C] → q [B, T, H, D], k/v [B, T, Hkv, D]
  Tensor q = ops::reshape(q_proj_->forward(x), {batch, tokens, heads_, head_dim_});
  Tensor k = ops::reshape(k_proj_->forward(x), {batch, tokens, kv_heads_, head_dim_});
  Tensor v = ops::reshape(v_proj_->forward(x), {batch, tokens, kv_heads_, head_dim_});
  q = ops::rope(q, position, rope_theta_);
  k = ops::rope(k, position, rope_theta_);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim_));
  Tensor attended;  // [B, T, H, D]
  if (cache != nullptr) {
    cache->append(k, v);
    attended = ops::causal_attention(q, cache->keys(), cache->values(), scale, position);
  } else {
    attended = ops::causal_attention(q, k, v, scale, 0);
  }
  return o_proj_->forward(ops::reshape(attended, {batch, tokens, heads_ * head_dim_}));
}

Tensor DenseAttention::forward_packed(const Tensor& x, const PackedSequences& sequences) const {
  SIEVE_CHECK(x.size(0) == 1 && sequences.lengths.size() == sequences.caches.size(),
              "packed attention takes x [1, N, C] and one cache per sequence");
  const std::int64_t tokens = x.size(1);
  const Tensor q_all = ops::reshape(q_proj_->forward(x), {1, tokens, heads_, head_dim_});
  const Tensor k_all = ops::reshape(k_proj_->forward(x), {1, tokens, kv_heads_, head_dim_});
  const Tensor v_all = ops::reshape(v_proj_->forward(x), {1, tokens, kv_heads_, head_dim_});
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim_));
  std::vector<Tensor> attended;  // per sequence [1, T_i, H, D]
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < sequences.lengths.size(); ++i) {
    const std::int64_t end = offset + sequences.lengths[i];
    LayerKvCache& cache = *sequences.caches[i];
    const std::int64_t position = cache.length();
    const Tensor q = ops::rope(ops::slice(q_all, 1, offset, end), position, rope_theta_);
    cache.append(ops::rope(ops::slice(k_all, 1, offset, end), position, rope_theta_),
                 ops::slice(v_all, 1, offset, end));
    attended.push_back(ops::causal_attention(q, cache.keys(), cache.values(), scale, position));
    offset = end;
  }
  SIEVE_CHECK(offset == tokens, "the packed lengths sum to {}, the input has {} tokens", offset, tokens);
  const Tensor joined = attended.size() == 1 ? attended.front() : ops::concat(attended, 1);
  return o_proj_->forward(ops::reshape(joined, {1, tokens, heads_ * head_dim_}));
}

}  // namespace sieve::nn
