// A tiny trimodal model's config and random batches of each modality, shared by the io and
// model tests: small enough that a finite-difference check over a parameter runs in
// milliseconds, with every part present (two fusion layers, text and audio rows of different
// lengths).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "sieve/nn/models/trimodal/trimodal_model.h"

namespace sieve::testing {

inline nn::TriModalConfig tiny_trimodal_config(nn::FusionMode fusion = nn::FusionMode::kCmaf) {
  nn::TriModalConfig c;
  c.hidden_size = 16;
  c.num_layers = 1;
  c.num_heads = 2;
  c.intermediate_size = 24;
  c.vocab_size = 20;
  c.max_text_tokens = 8;
  c.image_patch = 4;
  c.image_channels = 3;
  c.max_image_side = 8;
  c.n_mels = 8;
  c.audio_channels = 2;
  c.max_audio_tokens = 4;
  c.fusion_layers = 2;
  c.fusion = fusion;
  c.embed_dim = 6;
  c.num_classes = 3;
  c.num_words = 4;
  c.num_answers = 5;
  return c;
}

inline std::vector<float> tiny_normal_values(std::int64_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

// Standard normal pixels [batch, side, side, 1].
inline nn::ImageBatch tiny_image_batch(std::int64_t batch, std::int64_t side, std::uint32_t seed) {
  return {core::Tensor::from_vector(tiny_normal_values(batch * side * side, seed), {batch, side, side, 1})};
}

// Random ids [lengths.size(), width] in [0, vocab); the padding after each row's length is
// random too (the model must not read it).
inline nn::TextBatch tiny_text_batch(const std::vector<std::int64_t>& lengths, std::int64_t width, std::int64_t vocab,
                                     std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::int64_t> id(0, vocab - 1);
  std::vector<std::int64_t> ids(lengths.size() * static_cast<std::size_t>(width));
  for (auto& v : ids) v = id(rng);
  return {core::Tensor::from_vector(ids, {static_cast<std::int64_t>(lengths.size()), width}), lengths};
}

// Standard normal log-mel features [frames.size(), width, n_mels, 1] with each row's valid
// frame count.
inline nn::AudioBatch tiny_audio_batch(const std::vector<std::int64_t>& frames, std::int64_t width,
                                       std::int64_t n_mels, std::uint32_t seed) {
  const auto batch = static_cast<std::int64_t>(frames.size());
  return {core::Tensor::from_vector(tiny_normal_values(batch * width * n_mels, seed), {batch, width, n_mels, 1}),
          frames};
}

}  // namespace sieve::testing
