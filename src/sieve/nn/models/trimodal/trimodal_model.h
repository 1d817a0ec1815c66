// The trimodal model: text, images and audio in one shared transformer trunk.
//
//   image  u8 → ImageStem ─┐
//   text  ids → TextStem  ─┼─► shared trunk (TransformerBlocks, one set of weights for all
//   audio mel → AudioStem ─┘    modalities; bidirectional, causal for the text LM) → norm
//        │
//        ├─ per modality: mean pool → classification (images), spoken-word (audio) heads;
//        │                            projection → contrastive embeddings (image, text, audio)
//        ├─ text, causal: tied LM head (next-token prediction)
//        └─ any subset of modalities → FusionStack (CMAF, cmaf.h) → matching and answer heads
//
// Letters: B batch, T tokens, C hidden_size, E embed_dim, V vocab_size.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "sieve/nn/model.h"
#include "sieve/nn/models/trimodal/cmaf.h"
#include "sieve/nn/models/trimodal/modality_stems.h"

namespace sieve::nn {

inline constexpr const char* kTriModalFamily = "sieve_trimodal";

// One batch of one modality's raw input.
struct ImageBatch {
  Tensor pixels;  // f32 [B, H, W, 1], normalize_pixels
};
struct TextBatch {
  Tensor ids;                          // int64 [B, T]
  std::vector<std::int64_t> lengths;   // valid tokens per row
};
struct AudioBatch {
  Tensor features;                     // f32 [B, F, n_mels, 1], normalize_log_mel per clip
  std::vector<std::int64_t> frames;    // valid frames per row
};

// The inputs of one fused forward; null for an absent modality (at least one present).
struct FusionInputs {
  const ImageBatch* image = nullptr;
  const TextBatch* text = nullptr;
  const AudioBatch* audio = nullptr;
};

class TriModalModel : public Model {
 public:
  TriModalModel(TriModalConfig config, std::uint64_t seed);
  std::string family() const override { return kTriModalFamily; }
  const TriModalConfig& config() const { return config_; }

  // Stem + shared trunk + trunk norm: tokens [B, T, C] with their lengths.
  TokenSequences encode_image(const ImageBatch& image) const;
  TokenSequences encode_text(const TextBatch& text, bool causal = false) const;
  TokenSequences encode_audio(const AudioBatch& audio) const;

  Tensor classify_image(const ImageBatch& image) const;        // [B, num_classes]
  Tensor classify_spoken_word(const AudioBatch& audio) const;  // [B, num_words]
  // Next-token logits of the causal text pass, [B, T, V] (head tied to the token embedding).
  Tensor text_lm_logits(const TextBatch& text) const;

  // Contrastive embeddings [B, E] (not normalised; ops::contrastive_loss normalises).
  Tensor embed_image(const ImageBatch& image) const;
  Tensor embed_text(const TextBatch& text) const;
  Tensor embed_audio(const AudioBatch& audio) const;
  const Tensor& log_temperature() const { return log_temperature_; }

  FusionResult fuse(const FusionInputs& inputs) const;
  Tensor match_logits(const Tensor& fused) const;   // [B, C] → [B]
  Tensor answer_logits(const Tensor& fused) const;  // [B, C] → [B, num_answers]

 private:
  TokenSequences run_trunk(TokenSequences x, bool causal) const;

  TriModalConfig config_;
  std::shared_ptr<ImageStem> image_stem_;
  std::shared_ptr<TextStem> text_stem_;
  std::shared_ptr<AudioStem> audio_stem_;
  std::vector<std::shared_ptr<TransformerBlock>> trunk_;
  std::shared_ptr<RMSNorm> trunk_norm_;
  std::shared_ptr<FusionStack> fusion_;
  std::shared_ptr<Linear> class_head_, word_head_, image_projection_, text_projection_, audio_projection_,
      match_head_, answer_head_;
  Tensor log_temperature_;  // [1], CLIP's learned logit scale, initially ln(1/0.07)
};

}  // namespace sieve::nn
