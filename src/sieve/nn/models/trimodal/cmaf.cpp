#include "sieve/nn/models/trimodal/cmaf.h"

#include "sieve/autograd/grad_mode.h"
#include "sieve/core/error.h"
#include "sieve/ops/activation.h"
#include "sieve/ops/arithmetic.h"
#include "sieve/ops/pooling.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::nn {

namespace {

std::vector<int> present(const ModalityTokens& tokens) {
  std::vector<int> out;
  for (int m = 0; m < kModalityCount; ++m) {
    if (tokens[m].has_value()) out.push_back(m);
  }
  return out;
}

}  // namespace

CmafLayer::CmafLayer(const TriModalConfig& config, bool learned_alpha, core::Rng& rng) : learned_alpha_(learned_alpha) {
  const auto eps = static_cast<float>(config.norm_eps);
  const std::int64_t c = config.hidden_size;
  const double out_std = residual_init_std(config.num_layers + config.fusion_layers);
  self_norm_ = register_module("self_norm", std::make_shared<RMSNorm>(c, eps));
  self_attn_ = register_module("self_attn", std::make_shared<MultiHeadAttention>(config, out_std, rng));
  cross_norm_ = register_module("cross_norm", std::make_shared<RMSNorm>(c, eps));
  context_norm_ = register_module("context_norm", std::make_shared<RMSNorm>(c, eps));
  cross_attn_ = register_module("cross_attn", std::make_shared<MultiHeadAttention>(config, out_std, rng));
  mlp_norm_ = register_module("mlp_norm", std::make_shared<RMSNorm>(c, eps));
  mlp_ = register_module("mlp", std::make_shared<SwiGluMlp>(c, config.intermediate_size, kTriModalInitStd, out_std, rng));
  if (learned_alpha_) alpha_logits_ = register_parameter("alpha_logits", Tensor::zeros({kModalityCount}));
}

void CmafLayer::forward(ModalityTokens& tokens) const {
  const std::vector<int> modalities = present(tokens);
  // Self-attention first, for every modality; cross-attention then reads the others after it.
  ModalityTokens after_self = tokens;
  for (const int m : modalities) {
    TokenSequences& seq = *after_self[m];
    const Tensor normed = self_norm_->forward(seq.tokens);
    seq.tokens = ops::add(seq.tokens, self_attn_->forward(normed, normed, seq.lengths, false));
  }
  for (const int m : modalities) {
    TokenSequences seq = *after_self[m];
    std::vector<TokenSequences> others;
    for (const int n : modalities) {
      if (n == m) continue;
      others.push_back({context_norm_->forward(after_self[n]->tokens), after_self[n]->lengths});
    }
    if (!others.empty()) {
      const TokenSequences context = pack_sequences(others);
      seq.tokens = ops::add(seq.tokens, cross_attn_->forward(cross_norm_->forward(seq.tokens), context.tokens,
                                                             context.lengths, false));
    }
    seq.tokens = ops::add(seq.tokens, mlp_->forward(mlp_norm_->forward(seq.tokens)));
    tokens[m] = std::move(seq);
  }
}

Tensor CmafLayer::alpha(const ModalityTokens& tokens) const {
  const std::vector<int> modalities = present(tokens);
  const auto k = static_cast<std::int64_t>(modalities.size());
  if (!learned_alpha_) return Tensor::full({k}, 1.0 / static_cast<double>(k));
  std::vector<Tensor> logits;
  for (const int m : modalities) logits.push_back(ops::slice(alpha_logits_, 0, m, m + 1));
  return ops::softmax(k == kModalityCount ? alpha_logits_ : ops::concat(logits, 0));
}

FusionStack::FusionStack(const TriModalConfig& config, core::Rng& rng) : mode_(config.fusion) {
  for (std::int64_t l = 0; l < config.fusion_layers; ++l) {
    const std::string name = "layers." + std::to_string(l);
    if (mode_ == FusionMode::kConcat) {
      concat_layers_.push_back(register_module(
          name, std::make_shared<TransformerBlock>(config, config.num_layers + config.fusion_layers, rng)));
    } else {
      cmaf_layers_.push_back(register_module(name, std::make_shared<CmafLayer>(config, mode_ == FusionMode::kCmaf, rng)));
    }
  }
  norm_ = register_module("norm", std::make_shared<RMSNorm>(config.hidden_size, static_cast<float>(config.norm_eps)));
}

FusionResult FusionStack::forward(ModalityTokens tokens) const {
  const std::vector<int> modalities = present(tokens);
  SIEVE_CHECK(!modalities.empty(), "fusion needs at least one modality");
  FusionResult result;
  if (mode_ == FusionMode::kConcat) {
    std::vector<TokenSequences> parts;
    for (const int m : modalities) parts.push_back(*tokens[m]);
    TokenSequences joined = pack_sequences(parts);
    for (const auto& layer : concat_layers_) joined.tokens = layer->forward(joined.tokens, joined.lengths, false);
    result.fused = norm_->forward(ops::masked_mean(joined.tokens, joined.lengths));
    return result;
  }
  Tensor fused;
  for (const auto& layer : cmaf_layers_) {
    layer->forward(tokens);
    const Tensor alpha = layer->alpha(tokens);  // [k]
    {
      const autograd::NoGradGuard no_grad;
      const Tensor values = ops::contiguous(alpha);
      std::array<double, kModalityCount> row{};
      for (std::size_t i = 0; i < modalities.size(); ++i) row[modalities[i]] = values.data<float>()[i];
      result.alphas.push_back(row);
    }
    for (std::size_t i = 0; i < modalities.size(); ++i) {
      const TokenSequences& seq = *tokens[modalities[i]];
      const auto idx = static_cast<std::int64_t>(i);
      const Tensor weighted = ops::mul(ops::masked_mean(seq.tokens, seq.lengths), ops::slice(alpha, 0, idx, idx + 1));
      fused = fused.defined() ? ops::add(fused, weighted) : weighted;
    }
  }
  const float layers = static_cast<float>(cmaf_layers_.size());
  result.fused = norm_->forward(layers == 1.0f ? fused : ops::scale(fused, 1.0f / layers));
  return result;
}

}  // namespace sieve::nn
