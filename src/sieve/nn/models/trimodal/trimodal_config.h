// The configuration of the trimodal model (trimodal_model.h): widths of the shared trunk, the
// per-modality front-ends and the heads, and how the fusion layers combine modalities.
#pragma once

#include <cstdint>
#include <string_view>

namespace sieve::nn {

// How the fusion layers combine the modalities' tokens (NOTE [CMAF] in cmaf.h).
enum class FusionMode {
  kCmaf,     // cross-modal attention; pooled streams weighted by learned softmax α per layer
  kFixed,    // the same with α fixed at equal weights (the ablation without learned weights)
  kConcat,   // every token of every modality in one self-attention sequence, one mean pool
};
std::string_view fusion_mode_name(FusionMode mode);
// Inverse of fusion_mode_name; false for an unknown name.
bool parse_fusion_mode(std::string_view name, FusionMode& mode);

enum class Modality { kImage = 0, kText = 1, kAudio = 2 };
inline constexpr int kModalityCount = 3;
inline constexpr std::string_view kModalityNames[kModalityCount] = {"image", "text", "audio"};

struct TriModalConfig {
  // Shared trunk (every modality's tokens run through the same blocks).
  std::int64_t hidden_size = 128;
  std::int64_t num_layers = 4;
  std::int64_t num_heads = 4;
  std::int64_t intermediate_size = 384;  // SwiGLU hidden width
  double norm_eps = 1e-5;
  // Text: the data set's SentencePiece vocabulary; longer texts are cut.
  std::int64_t vocab_size = 512;
  std::int64_t max_text_tokens = 48;
  // Image: a 3×3 conv to image_channels, then a patch×patch stride-patch conv to tokens; a
  // grid of up to max_image_side² pixels (row and column position tables of max_image_side /
  // patch entries).
  std::int64_t image_patch = 7;
  std::int64_t image_channels = 32;
  std::int64_t max_image_side = 56;
  // Audio: log-mel frames [F, n_mels] through three 3×3 stride-2 convs of audio_channels, one
  // token per 8 frames; longer clips are cut to max_audio_tokens tokens.
  std::int64_t n_mels = 80;
  std::int64_t audio_channels = 32;
  std::int64_t max_audio_tokens = 96;
  // Fusion layers on top of the trunk.
  std::int64_t fusion_layers = 2;
  FusionMode fusion = FusionMode::kCmaf;
  // Heads.
  std::int64_t embed_dim = 128;      // contrastive projections
  std::int64_t num_classes = 10;     // image classification
  std::int64_t num_words = 10;       // spoken-word classification
  std::int64_t num_answers = 21;     // question answering

  std::int64_t head_dim() const { return hidden_size / num_heads; }
  std::int64_t image_grid() const { return max_image_side / image_patch; }
  // Audio tokens of `frames` log-mel frames (each stride-2 conv halves, rounding up).
  static std::int64_t audio_tokens(std::int64_t frames) {
    for (int i = 0; i < 3; ++i) frames = (frames + 1) / 2;
    return frames;
  }
  std::int64_t max_audio_frames() const { return max_audio_tokens * 8; }
  bool operator==(const TriModalConfig&) const = default;
};

}  // namespace sieve::nn
