#include "sieve/nn/models/trimodal/trimodal_model.h"

#include <cmath>

#include "sieve/core/error.h"
#include "sieve/ops/linear.h"
#include "sieve/ops/pooling.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::nn {

TriModalModel::TriModalModel(TriModalConfig config, std::uint64_t seed) : config_(config) {
  core::Rng rng(seed);
  const std::int64_t c = config_.hidden_size;
  image_stem_ = register_module("image_stem", std::make_shared<ImageStem>(config_, rng));
  text_stem_ = register_module("text_stem", std::make_shared<TextStem>(config_, rng));
  audio_stem_ = register_module("audio_stem", std::make_shared<AudioStem>(config_, rng));
  for (std::int64_t l = 0; l < config_.num_layers; ++l) {
    trunk_.push_back(register_module("trunk.layers." + std::to_string(l),
                                     std::make_shared<TransformerBlock>(config_, config_.num_layers, rng)));
  }
  trunk_norm_ = register_module("trunk.norm", std::make_shared<RMSNorm>(c, static_cast<float>(config_.norm_eps)));
  fusion_ = register_module("fusion", std::make_shared<FusionStack>(config_, rng));
  const auto head = [&](const char* name, std::int64_t in, std::int64_t out) {
    return register_module(name, std::make_shared<Linear>(in, out, true, kTriModalInitStd, rng));
  };
  class_head_ = head("class_head", c, config_.num_classes);
  word_head_ = head("word_head", c, config_.num_words);
  image_projection_ = register_module("image_projection", std::make_shared<Linear>(c, config_.embed_dim, false, kTriModalInitStd, rng));
  text_projection_ = register_module("text_projection", std::make_shared<Linear>(c, config_.embed_dim, false, kTriModalInitStd, rng));
  audio_projection_ = register_module("audio_projection", std::make_shared<Linear>(c, config_.embed_dim, false, kTriModalInitStd, rng));
  match_head_ = head("match_head", c, 1);
  answer_head_ = head("answer_head", c, config_.num_answers);
  log_temperature_ = register_parameter("log_temperature", Tensor::full({1}, std::log(1.0 / 0.07)));
}

TokenSequences TriModalModel::run_trunk(TokenSequences x, bool causal) const {
  for (const auto& block : trunk_) x.tokens = block->forward(x.tokens, x.lengths, causal);
  x.tokens = trunk_norm_->forward(x.tokens);
  return x;
}

TokenSequences TriModalModel::encode_image(const ImageBatch& image) const {
  return run_trunk(image_stem_->forward(image.pixels), false);
}

TokenSequences TriModalModel::encode_text(const TextBatch& text, bool causal) const {
  return run_trunk(text_stem_->forward(text.ids, text.lengths), causal);
}

TokenSequences TriModalModel::encode_audio(const AudioBatch& audio) const {
  return run_trunk(audio_stem_->forward(audio.features, audio.frames), false);
}

Tensor TriModalModel::classify_image(const ImageBatch& image) const {
  const TokenSequences x = encode_image(image);
  return class_head_->forward(ops::masked_mean(x.tokens, x.lengths));
}

Tensor TriModalModel::classify_spoken_word(const AudioBatch& audio) const {
  const TokenSequences x = encode_audio(audio);
  return word_head_->forward(ops::masked_mean(x.tokens, x.lengths));
}

Tensor TriModalModel::text_lm_logits(const TextBatch& text) const {
  return ops::linear(encode_text(text, true).tokens, text_stem_->token_embedding().weight());
}

Tensor TriModalModel::embed_image(const ImageBatch& image) const {
  const TokenSequences x = encode_image(image);
  return image_projection_->forward(ops::masked_mean(x.tokens, x.lengths));
}

Tensor TriModalModel::embed_text(const TextBatch& text) const {
  const TokenSequences x = encode_text(text);
  return text_projection_->forward(ops::masked_mean(x.tokens, x.lengths));
}

Tensor TriModalModel::embed_audio(const AudioBatch& audio) const {
  const TokenSequences x = encode_audio(audio);
  return audio_projection_->forward(ops::masked_mean(x.tokens, x.lengths));
}

FusionResult TriModalModel::fuse(const FusionInputs& inputs) const {
  ModalityTokens tokens;
  if (inputs.image != nullptr) tokens[static_cast<int>(Modality::kImage)] = encode_image(*inputs.image);
  if (inputs.text != nullptr) tokens[static_cast<int>(Modality::kText)] = encode_text(*inputs.text);
  if (inputs.audio != nullptr) tokens[static_cast<int>(Modality::kAudio)] = encode_audio(*inputs.audio);
  return fusion_->forward(std::move(tokens));
}

Tensor TriModalModel::match_logits(const Tensor& fused) const {
  return ops::reshape(match_head_->forward(fused), {fused.size(0)});
}

Tensor TriModalModel::answer_logits(const Tensor& fused) const { return answer_head_->forward(fused); }

}  // namespace sieve::nn
