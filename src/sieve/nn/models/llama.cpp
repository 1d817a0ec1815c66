#include "sieve/nn/models/llama.h"

#include <cmath>

#include "sieve/autograd/grad_mode.h"
#include "sieve/nn/activation_checkpoint.h"
#include "sieve/nn/attention/sparse.h"
#include "sieve/ops/arithmetic.h"
#include "sieve/ops/linear.h"
#include "sieve/ops/loss.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::nn {
namespace {
constexpr double kInitStd = 0.02;
}

DecoderBlock::DecoderBlock(const LlamaConfig& config, std::int64_t layer, core::Rng& rng) {
  const auto eps = static_cast<float>(config.rms_norm_eps);
  const double down_std = kInitStd / std::sqrt(2.0 * static_cast<double>(config.num_hidden_layers));
  input_layernorm_ = register_module("input_layernorm", std::make_shared<RMSNorm>(config.hidden_size, eps));
  self_attn_ = register_module("self_attn", make_attention(config, layer, rng));
  post_attention_layernorm_ =
      register_module("post_attention_layernorm", std::make_shared<RMSNorm>(config.hidden_size, eps));
  mlp_ = register_module("mlp", std::make_shared<SwiGluMlp>(config.hidden_size, config.intermediate(layer),
                                                            kInitStd, down_std, rng));
}

Tensor DecoderBlock::forward(const Tensor& x, LayerKvCache* cache) const {
  Tensor h = ops::add(x, self_attn_->forward(input_layernorm_->forward(x), cache));
  return ops::add(h, mlp_->forward(post_attention_layernorm_->forward(h)));
}

Tensor DecoderBlock::forward_packed(const Tensor& x, const PackedSequences& sequences) const {
  Tensor h = ops::add(x, self_attn_->forward_packed(input_layernorm_->forward(x), sequences));
  return ops::add(h, mlp_->forward(post_attention_layernorm_->forward(h)));
}

LlamaBackbone::LlamaBackbone(const LlamaConfig& config, core::Rng& rng) {
  embed_tokens_ = register_module("embed_tokens", std::make_shared<Embedding>(config.vocab_size, config.hidden_size,
                                                                              kInitStd, rng));
  for (std::int64_t i = 0; i < config.num_hidden_layers; ++i)
    layers_.push_back(register_module("layers." + std::to_string(i), std::make_shared<DecoderBlock>(config, i, rng)));
  norm_ = register_module("norm", std::make_shared<RMSNorm>(config.hidden_size, static_cast<float>(config.rms_norm_eps)));
}

Tensor LlamaBackbone::forward(const Tensor& ids, KvCache* cache) const {
  Tensor h = embed_tokens_->forward(ids);  // [B, T, C]
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    // Never with a KV cache: recomputation would append the block's keys and values twice.
    if (activation_checkpointing_ && cache == nullptr && autograd::grad_enabled()) {
      h = checkpoint([block = layers_[i]](const Tensor& x) { return block->forward(x, nullptr); }, h,
                     "checkpoint(layers." + std::to_string(i) + ")");
    } else {
      h = layers_[i]->forward(h, cache != nullptr ? &cache->layers[i] : nullptr);
    }
  }
  return norm_->forward(h);
}

Tensor LlamaBackbone::forward_packed(const Tensor& ids, std::span<const std::int64_t> lengths,
                                    std::span<KvCache* const> caches) const {
  Tensor h = embed_tokens_->forward(ids);  // [1, N, C]
  std::vector<LayerKvCache*> layer_caches(caches.size());
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    for (std::size_t s = 0; s < caches.size(); ++s) layer_caches[s] = &caches[s]->layers[i];
    h = layers_[i]->forward_packed(h, PackedSequences{lengths, layer_caches});
  }
  return norm_->forward(h);
}

LlamaForCausalLM::LlamaForCausalLM(LlamaConfig config, std::uint64_t seed) : config_(std::move(config)) {
  core::Rng rng(seed);
  model_ = register_module("model", std::make_shared<LlamaBackbone>(config_, rng));
  if (!config_.tie_word_embeddings)
    lm_head_ = register_module("lm_head", std::make_shared<Linear>(config_.hidden_size, config_.vocab_size, false,
                                                                   kInitStd, rng));
  for (const auto& [name, module] : named_modules())
    if (auto sparse = std::dynamic_pointer_cast<SparseAttention>(module); sparse && sparse->scorer() != nullptr)
      scorer_layers_.push_back(std::move(sparse));
}

Tensor LlamaForCausalLM::hidden_states(const Tensor& ids, KvCache* cache) const {
  SIEVE_CHECK(ids.dim() == 2 && ids.dtype() == core::DType::i64, "token ids must be int64 [B, T], got {} {}",
              core::dtype_name(ids.dtype()), core::shape_string(ids.shape()));
  const std::int64_t end = ids.size(1) + (cache != nullptr ? cache->length() : 0);
  SIEVE_USER_CHECK(end <= config_.max_position_embeddings,
                   "sequence of {} tokens exceeds the model's max_position_embeddings ({})", end,
                   config_.max_position_embeddings);
  return model_->forward(ids, cache);  // [B, T, C]
}

Tensor LlamaForCausalLM::head(const Tensor& h) const {
  if (lm_head_) return lm_head_->forward(h);
  return ops::linear(h, model_->embed_tokens().weight());  // tied: logits = h · Eᵀ
}

Tensor LlamaForCausalLM::forward(const Tensor& ids, KvCache* cache) const { return head(hidden_states(ids, cache)); }

Tensor LlamaForCausalLM::next_token_logits(const Tensor& ids, KvCache* cache) const {
  const Tensor h = hidden_states(ids, cache);  // [B, T, C]
  const std::int64_t T = h.size(1);
  return ops::reshape(head(ops::slice(h, 1, T - 1, T)), {h.size(0), -1});  // [B, V]
}

Tensor LlamaForCausalLM::next_token_logits_packed(const Tensor& ids, std::span<const std::int64_t> lengths,
                                                  std::span<KvCache* const> caches) const {
  SIEVE_CHECK(ids.dim() == 2 && ids.size(0) == 1 && ids.dtype() == core::DType::i64,
              "packed token ids must be int64 [1, N], got {} {}", core::dtype_name(ids.dtype()),
              core::shape_string(ids.shape()));
  SIEVE_CHECK(!lengths.empty() && lengths.size() == caches.size(), "{} lengths for {} caches", lengths.size(),
              caches.size());
  std::int64_t total = 0;
  for (std::size_t s = 0; s < lengths.size(); ++s) {
    SIEVE_CHECK(lengths[s] >= 1, "sequence {} has no new tokens", s);
    const std::int64_t end = caches[s]->length() + lengths[s];
    SIEVE_USER_CHECK(end <= config_.max_position_embeddings,
                     "sequence of {} tokens exceeds the model's max_position_embeddings ({})", end,
                     config_.max_position_embeddings);
    total += lengths[s];
  }
  SIEVE_CHECK(total == ids.size(1), "the packed lengths sum to {}, ids hold {} tokens", total, ids.size(1));
  const Tensor h = model_->forward_packed(ids, lengths, caches);  // [1, N, C]
  std::vector<Tensor> last;
  std::int64_t offset = 0;
  for (const std::int64_t length : lengths) {
    offset += length;
    last.push_back(ops::slice(h, 1, offset - 1, offset));
  }
  const Tensor rows = last.size() == 1 ? last.front() : ops::concat(last, 1);  // [1, S, C]
  return ops::reshape(head(rows), {static_cast<std::int64_t>(lengths.size()), -1});  // [S, V]
}

Tensor LlamaForCausalLM::lm_loss(const Tensor& ids, const Tensor& targets) const {
  Tensor logits = forward(ids);  // [B, T, V]
  const std::int64_t rows = ids.numel();
  return ops::cross_entropy(ops::reshape(logits, {rows, config_.vocab_size}), targets.view({rows}));
}

Tensor LlamaForCausalLM::loss(const Tensor& ids, const Tensor& targets) const {
  if (scorer_distill_weight_ <= 0.0f || scorer_layers_.empty() || !autograd::grad_enabled())
    return lm_loss(ids, targets);
  // Collecting stays open for this forward only; closed on every exit, so a backward's
  // recomputation of a checkpointed block (later) or a stray forward adds nothing.
  struct Collecting {
    const std::vector<std::shared_ptr<SparseAttention>>& layers;
    explicit Collecting(const std::vector<std::shared_ptr<SparseAttention>>& l) : layers(l) {
      for (const auto& layer : layers) layer->begin_scorer_distillation();
    }
    ~Collecting() {
      for (const auto& layer : layers) layer->end_scorer_distillation();
    }
    Collecting(const Collecting&) = delete;
    Collecting& operator=(const Collecting&) = delete;
  };
  Collecting collecting(scorer_layers_);
  const Tensor lm = lm_loss(ids, targets);
  Tensor extra;
  std::int64_t counted = 0;
  for (const auto& layer : scorer_layers_) {
    const Tensor term = layer->end_scorer_distillation();
    if (!term.defined()) continue;  // T <= W: nothing to distil from
    extra = extra.defined() ? ops::add(extra, term) : term;
    ++counted;
  }
  if (!extra.defined()) return lm;
  const double added = extra.item();
  last_distill_loss_ = added / (static_cast<double>(scorer_distill_weight_) * static_cast<double>(counted));
  distill_totals_.bce += last_distill_loss_;
  distill_totals_.added += added;
  ++distill_totals_.calls;
  return ops::add(lm, extra);
}

void LlamaForCausalLM::set_scorer_distillation(float weight) {
  SIEVE_USER_CHECK(std::isfinite(weight) && weight >= 0.0f,
                   "the scorer distillation weight must be >= 0 and finite (0: off), got {}", weight);
  scorer_distill_weight_ = weight;
  for (const auto& layer : scorer_layers_) layer->set_scorer_distillation(weight);
}

void LlamaForCausalLM::set_scorer_distill_emphasis(float alpha) {
  SIEVE_USER_CHECK(std::isfinite(alpha) && alpha >= 0.0f,
                   "the scorer distillation emphasis must be >= 0 and finite (0: off), got {}", alpha);
  for (const auto& layer : scorer_layers_) layer->set_scorer_distill_emphasis(alpha);
}

void LlamaForCausalLM::set_dense_blend(float share) {
  SIEVE_USER_CHECK(std::isfinite(share) && share >= 0.0f && share <= 1.0f,
                   "the dense blend share must be in [0, 1] (0: off), got {}", share);
  for (const auto& layer : scorer_layers_) layer->set_dense_blend(share);  // checks the share
  dense_share_ = share;
}

LlamaForCausalLM::ScorerDistillationTotals LlamaForCausalLM::take_scorer_distillation_totals() const {
  const ScorerDistillationTotals totals = distill_totals_;
  distill_totals_ = {};
  return totals;
}

KvCache LlamaForCausalLM::make_cache(std::int64_t batch, std::int64_t capacity) const {
  KvCache cache;
  for (std::int64_t i = 0; i < config_.num_hidden_layers; ++i)
    cache.layers.emplace_back(batch, capacity, config_.kv_heads(i), config_.head_dim());
  return cache;
}

}  // namespace sieve::nn
