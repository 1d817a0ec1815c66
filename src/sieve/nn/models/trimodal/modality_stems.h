// The per-modality front-ends of the trimodal model: each turns its input into tokens of the
// shared width, with learned position embeddings and a learned modality embedding added, so the
// shared trunk can tell the modalities and positions apart.
// Letters: B batch, H W image height and width, F log-mel frames, M mel bins, C channels.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "sieve/nn/layers.h"
#include "sieve/nn/models/trimodal/token_sequences.h"
#include "sieve/nn/models/trimodal/trimodal_config.h"

namespace sieve::nn {

// Images: conv 3×3 (padding 1) → SiLU → conv patch×patch with stride patch (a ViT patch
// embedding over the conv's features) → tokens [B, (H/p)·(W/p), C] in row-major patch order,
// plus row and column position embeddings.
class ImageStem : public Module {
 public:
  ImageStem(const TriModalConfig& config, core::Rng& rng);
  // pixels f32 [B, H, W, 1], normalised (normalize_pixels); H and W multiples of the patch, at
  // most max_image_side.
  TokenSequences forward(const Tensor& pixels) const;

 private:
  std::int64_t patch_, max_side_;
  Tensor conv_weight_, conv_bias_, patch_weight_, patch_bias_, row_embedding_, column_embedding_, modality_;
};

// u8 pixels [B, H, W] → f32 [B, H, W, 1], standardised with Fashion-MNIST's mean and std.
Tensor normalize_pixels(std::span<const std::uint8_t> pixels, std::int64_t batch, std::int64_t height,
                        std::int64_t width);

// Audio: log-mel [B, F, M, 1] (per-clip standardised: normalize_log_mel) → three 3×3 stride-2
// convs with SiLU → [B, ⌈F/8⌉, ⌈M/8⌉·A] → linear → tokens [B, ⌈F/8⌉, C], plus positions. Each
// conv reads zeros past a row's valid frames, so a row's valid tokens are those of the clip alone,
// whatever the padding of its batch.
class AudioStem : public Module {
 public:
  AudioStem(const TriModalConfig& config, core::Rng& rng);
  // frames: each row's valid frames (≤ F); its tokens are TriModalConfig::audio_tokens(frames).
  TokenSequences forward(const Tensor& features, std::span<const std::int64_t> frames) const;

 private:
  std::int64_t max_tokens_;
  Tensor conv_weight_[3], conv_bias_[3];
  std::shared_ptr<Linear> project_;
  Tensor position_embedding_, modality_;
};

// Per-clip standardisation of a clip's log-mel [frames, n_mels] (zero mean, unit variance over
// all its values), written into `out` (frames·n_mels floats): loudness and channel differences
// between voices drop out.
void normalize_log_mel(std::span<const float> features, std::span<float> out);

// Text: token embedding + position embedding (max_text_tokens) + modality embedding.
class TextStem : public Module {
 public:
  TextStem(const TriModalConfig& config, core::Rng& rng);
  // ids int64 [B, T] (T ≤ max_text_tokens; padding after each row's length).
  TokenSequences forward(const Tensor& ids, std::span<const std::int64_t> lengths) const;
  const Embedding& token_embedding() const { return *tokens_; }

 private:
  std::shared_ptr<Embedding> tokens_;
  Tensor position_embedding_, modality_;
};

}  // namespace sieve::nn
