// Fusion of the modalities' trunk outputs into one vector per example.
//
// NOTE [CMAF]: cross-modal attention fusion. Each fusion layer l updates every present
// modality m's tokens h_m with, in turn, self-attention over h_m, cross-attention from h_m to
// the tokens of every other present modality (packed into one key sequence), and an MLP — all
// pre-norm residual, the layer's weights shared by the modalities (the trunk's modality
// embeddings tell them apart). The layer's fused vector is
//     f_l = Σ_m α_{l,m} · mean(h_m),   α_l = softmax over the present modalities of w_l ∈ R³,
// and the model's is norm(mean_l f_l), so every layer's α shapes the output. α is per layer, not per head: it weighs whole pooled streams,
// after the heads have been merged, so a per-head α would have nothing of its own to weigh; three
// numbers per layer are also what a reader can follow in the logs. A modality that carries no
// signal (corrupted at training) gets its α driven down, since the heads see the fused vector
// only through α. FusionMode::kFixed is the same stack with α_l fixed at 1/|present|;
// FusionMode::kConcat packs every present token into one sequence, runs self-attention blocks
// over it and mean-pools it (no per-modality weighting).
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <vector>

#include "sieve/nn/models/trimodal/encoder_block.h"
#include "sieve/nn/models/trimodal/token_sequences.h"

namespace sieve::nn {

// The trunk's output per modality; an absent modality is nullopt.
using ModalityTokens = std::array<std::optional<TokenSequences>, kModalityCount>;

struct FusionResult {
  Tensor fused;  // [B, C]
  // α of each layer, per modality (0 for absent ones); empty for kConcat.
  std::vector<std::array<double, kModalityCount>> alphas;
};

class CmafLayer : public Module {
 public:
  CmafLayer(const TriModalConfig& config, bool learned_alpha, core::Rng& rng);
  // Updates the present modalities' tokens in place.
  void forward(ModalityTokens& tokens) const;
  // softmax of the logits over the present modalities (fixed: equal), [k] for k present.
  Tensor alpha(const ModalityTokens& tokens) const;

 private:
  bool learned_alpha_;
  std::shared_ptr<RMSNorm> self_norm_, cross_norm_, context_norm_, mlp_norm_;
  std::shared_ptr<MultiHeadAttention> self_attn_, cross_attn_;
  std::shared_ptr<SwiGluMlp> mlp_;
  Tensor alpha_logits_;  // [3], learned_alpha only
};

class FusionStack : public Module {
 public:
  FusionStack(const TriModalConfig& config, core::Rng& rng);
  // At least one modality present; all present ones share B.
  FusionResult forward(ModalityTokens tokens) const;
  FusionMode mode() const { return mode_; }

 private:
  FusionMode mode_;
  std::vector<std::shared_ptr<CmafLayer>> cmaf_layers_;
  std::vector<std::shared_ptr<TransformerBlock>> concat_layers_;
  std::shared_ptr<RMSNorm> norm_;
};

}  // namespace sieve::nn
