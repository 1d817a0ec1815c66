#include "sieve/nn/models/trimodal/modality_stems.h"

#include <algorithm>
#include <cmath>

#include "sieve/core/error.h"
#include "sieve/nn/models/trimodal/encoder_block.h"  // kTriModalInitStd
#include "sieve/ops/activation.h"
#include "sieve/ops/arithmetic.h"
#include "sieve/ops/conv2d.h"
#include "sieve/ops/embedding.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::nn {

namespace {

// Fashion-MNIST's training-set pixel mean and standard deviation (on [0, 1]).
constexpr float kPixelMean = 0.2860f;
constexpr float kPixelStd = 0.3530f;

// He-style init for a conv feeding SiLU: std = sqrt(2 / fan_in).
Tensor conv_weight(std::int64_t out, std::int64_t kh, std::int64_t kw, std::int64_t in, core::Rng& rng) {
  return normal_tensor({out, kh, kw, in}, std::sqrt(2.0 / static_cast<double>(kh * kw * in)), rng);
}

Tensor position_ids(std::int64_t count, std::int64_t repeat_each, std::int64_t repeat_all) {
  std::vector<std::int64_t> ids;
  ids.reserve(static_cast<std::size_t>(count * repeat_each * repeat_all));
  for (std::int64_t r = 0; r < repeat_all; ++r) {
    for (std::int64_t i = 0; i < count; ++i) ids.insert(ids.end(), static_cast<std::size_t>(repeat_each), i);
  }
  return Tensor::from_vector(ids, {static_cast<std::int64_t>(ids.size())});
}

// x [B, T, ...] with the steps t >= lengths[b] of each row b set to 0 (x itself when no row is
// short). Differentiable in x (a product with a constant 0/1 mask).
Tensor zero_past_lengths(const Tensor& x, std::span<const std::int64_t> lengths) {
  const std::int64_t batch = x.size(0), steps = x.size(1);
  if (std::all_of(lengths.begin(), lengths.end(), [&](std::int64_t n) { return n >= steps; })) return x;
  core::Shape shape(static_cast<std::size_t>(x.dim()), 1);
  shape[0] = batch;
  shape[1] = steps;
  Tensor mask = Tensor::zeros(shape);
  float* m = mask.data<float>();
  for (std::int64_t b = 0; b < batch; ++b) std::fill(m + b * steps, m + b * steps + std::min(lengths[b], steps), 1.0f);
  return ops::mul(x, mask);
}

}  // namespace

ImageStem::ImageStem(const TriModalConfig& config, core::Rng& rng)
    : patch_(config.image_patch), max_side_(config.max_image_side) {
  const std::int64_t a = config.image_channels, c = config.hidden_size, p = config.image_patch;
  conv_weight_ = register_parameter("conv.weight", conv_weight(a, 3, 3, 1, rng));
  conv_bias_ = register_parameter("conv.bias", Tensor::zeros({a}));
  patch_weight_ = register_parameter("patch.weight", normal_tensor({c, p, p, a}, 1.0 / std::sqrt(double(p * p * a)), rng));
  patch_bias_ = register_parameter("patch.bias", Tensor::zeros({c}));
  row_embedding_ = register_parameter("row_embedding", normal_tensor({config.image_grid(), c}, kTriModalInitStd, rng));
  column_embedding_ = register_parameter("column_embedding", normal_tensor({config.image_grid(), c}, kTriModalInitStd, rng));
  modality_ = register_parameter("modality_embedding", normal_tensor({c}, kTriModalInitStd, rng));
}

TokenSequences ImageStem::forward(const Tensor& pixels) const {
  SIEVE_CHECK(pixels.dim() == 4 && pixels.size(3) == 1, "image stem: pixels must be [B, H, W, 1]");
  const std::int64_t batch = pixels.size(0), height = pixels.size(1), width = pixels.size(2);
  SIEVE_CHECK(height % patch_ == 0 && width % patch_ == 0 && height <= max_side_ && width <= max_side_,
              "image stem: a {}×{} image does not tile into {}-pixel patches within {} pixels", height, width, patch_,
              max_side_);
  const Tensor features = ops::silu(ops::conv2d(pixels, conv_weight_, conv_bias_, 1, 1));
  const Tensor patches = ops::conv2d(features, patch_weight_, patch_bias_, patch_, 0);  // [B, Hp, Wp, C]
  const std::int64_t rows = height / patch_, columns = width / patch_, channels = patches.size(3);
  // Token n = r·columns + c: row id r (each repeated `columns` times), column id c (cycling).
  const Tensor position = ops::add(ops::embedding(row_embedding_, position_ids(rows, columns, 1)),
                                   ops::embedding(column_embedding_, position_ids(columns, 1, rows)));
  TokenSequences out;
  out.tokens = ops::add(ops::add(ops::reshape(patches, {batch, rows * columns, channels}), position), modality_);
  out.lengths.assign(static_cast<std::size_t>(batch), rows * columns);
  return out;
}

Tensor normalize_pixels(std::span<const std::uint8_t> pixels, std::int64_t batch, std::int64_t height,
                        std::int64_t width) {
  SIEVE_CHECK(static_cast<std::int64_t>(pixels.size()) == batch * height * width, "normalize_pixels: size mismatch");
  Tensor out = Tensor::empty({batch, height, width, 1});
  float* o = out.data<float>();
  for (std::size_t i = 0; i < pixels.size(); ++i) o[i] = (static_cast<float>(pixels[i]) / 255.0f - kPixelMean) / kPixelStd;
  return out;
}

AudioStem::AudioStem(const TriModalConfig& config, core::Rng& rng) : max_tokens_(config.max_audio_tokens) {
  const std::int64_t a = config.audio_channels;
  for (int i = 0; i < 3; ++i) {
    const std::string name = "conv" + std::to_string(i);
    conv_weight_[i] = register_parameter(name + ".weight", conv_weight(a, 3, 3, i == 0 ? 1 : a, rng));
    conv_bias_[i] = register_parameter(name + ".bias", Tensor::zeros({a}));
  }
  const std::int64_t mel_out = TriModalConfig::audio_tokens(config.n_mels);
  project_ = register_module("project", std::make_shared<Linear>(mel_out * a, config.hidden_size, true,
                                                                 1.0 / std::sqrt(double(mel_out * a)), rng));
  position_embedding_ = register_parameter("position_embedding",
                                           normal_tensor({config.max_audio_tokens, config.hidden_size}, kTriModalInitStd, rng));
  modality_ = register_parameter("modality_embedding", normal_tensor({config.hidden_size}, kTriModalInitStd, rng));
}

TokenSequences AudioStem::forward(const Tensor& features, std::span<const std::int64_t> frames) const {
  SIEVE_CHECK(features.dim() == 4 && features.size(3) == 1, "audio stem: features must be [B, F, M, 1]");
  const std::int64_t batch = features.size(0);
  SIEVE_CHECK(static_cast<std::int64_t>(frames.size()) == batch, "audio stem: one frame count per row");
  for (const std::int64_t f : frames)
    SIEVE_CHECK(f >= 1 && f <= features.size(1), "audio stem: a row has {} valid frames of {}", f, features.size(1));
  // Each conv's input is zeroed past the row's valid length, as the conv's own zero padding is
  // at the end of an unpadded clip: the valid tokens' receptive fields reach past the last valid
  // frame, and would otherwise read the batch's padding (a clip's tokens would depend on what
  // else is in its batch).
  std::vector<std::int64_t> valid(frames.begin(), frames.end());
  Tensor x = features;
  for (int i = 0; i < 3; ++i) {
    x = ops::silu(ops::conv2d(zero_past_lengths(x, valid), conv_weight_[i], conv_bias_[i], 2, 1));
    for (std::int64_t& v : valid) v = (v + 1) / 2;
  }
  const std::int64_t tokens = x.size(1);
  SIEVE_CHECK(tokens <= max_tokens_, "audio stem: {} frames make {} tokens, more than the {} the model has positions for",
              features.size(1), tokens, max_tokens_);
  x = project_->forward(ops::reshape(x, {batch, tokens, x.size(2) * x.size(3)}));
  TokenSequences out;
  out.tokens = ops::add(ops::add(x, ops::slice(position_embedding_, 0, 0, tokens)), modality_);
  for (const std::int64_t f : frames) out.lengths.push_back(TriModalConfig::audio_tokens(f));
  return out;
}

void normalize_log_mel(std::span<const float> features, std::span<float> out) {
  SIEVE_CHECK(out.size() == features.size() && !features.empty(), "normalize_log_mel: size mismatch");
  double sum = 0.0, square_sum = 0.0;
  for (const float v : features) {
    sum += v;
    square_sum += static_cast<double>(v) * v;
  }
  const double n = static_cast<double>(features.size());
  const double mean = sum / n;
  const double std = std::sqrt(std::max(square_sum / n - mean * mean, 0.0)) + 1e-5;
  for (std::size_t i = 0; i < features.size(); ++i) out[i] = static_cast<float>((features[i] - mean) / std);
}

TextStem::TextStem(const TriModalConfig& config, core::Rng& rng) {
  tokens_ = register_module("tokens", std::make_shared<Embedding>(config.vocab_size, config.hidden_size, kTriModalInitStd, rng));
  position_embedding_ = register_parameter("position_embedding",
                                           normal_tensor({config.max_text_tokens, config.hidden_size}, kTriModalInitStd, rng));
  modality_ = register_parameter("modality_embedding", normal_tensor({config.hidden_size}, kTriModalInitStd, rng));
}

TokenSequences TextStem::forward(const Tensor& ids, std::span<const std::int64_t> lengths) const {
  SIEVE_CHECK(ids.dim() == 2 && ids.size(1) <= position_embedding_.size(0),
              "text stem: ids must be [B, T] with T <= {}", position_embedding_.size(0));
  SIEVE_CHECK(static_cast<std::int64_t>(lengths.size()) == ids.size(0), "text stem: one length per row");
  for (const std::int64_t length : lengths)
    SIEVE_CHECK(length >= 1 && length <= ids.size(1), "text stem: a row has {} valid tokens of {}", length, ids.size(1));
  TokenSequences out;
  out.tokens = ops::add(ops::add(tokens_->forward(ids), ops::slice(position_embedding_, 0, 0, ids.size(1))), modality_);
  out.lengths.assign(lengths.begin(), lengths.end());
  return out;
}

}  // namespace sieve::nn
