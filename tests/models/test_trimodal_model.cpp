// The trimodal model (nn/models/trimodal/): packing of token sequences, that padding never
// reaches an output, the CMAF weights, causality of the text LM, and gradients — every
// parameter gets one from the joint loss, and a few match finite differences.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sieve/autograd/engine.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/nn/models/trimodal/trimodal_model.h"
#include "sieve/ops/arithmetic.h"
#include "sieve/ops/contrastive.h"
#include "sieve/ops/loss.h"
#include "sieve/ops/shape_ops.h"
#include "tiny_trimodal.h"

namespace sieve::nn {
namespace {

using testing::tiny_audio_batch;
using testing::tiny_image_batch;
using testing::tiny_text_batch;
using testing::tiny_trimodal_config;

constexpr FusionMode kFusionModes[] = {FusionMode::kCmaf, FusionMode::kFixed, FusionMode::kConcat};

std::vector<float> values(const Tensor& t) { return ops::contiguous(t).to_vector(); }

// Tokens [t0, t1) of row b of a [B, T, C] tensor.
std::vector<float> tokens_of(const Tensor& tokens, std::int64_t b, std::int64_t t0, std::int64_t t1) {
  return values(ops::slice(ops::slice(tokens, 0, b, b + 1), 1, t0, t1));
}

std::vector<float> row(const Tensor& x, std::int64_t b) { return values(ops::slice(x, 0, b, b + 1)); }

void expect_near(const std::vector<float>& a, const std::vector<float>& b, double tolerance, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tolerance) << what << " element " << i;
}

// The parameter `name` (a handle sharing its storage and gradient).
Tensor parameter(const Module& module, const std::string& name) {
  for (const auto& [n, p] : module.named_parameters())
    if (n == name) return p;
  throw std::invalid_argument("no parameter " + name);
}

// ---- pack_sequences ----------------------------------------------------------------------------

Tensor iota_tokens(std::int64_t batch, std::int64_t tokens, std::int64_t channels, float start) {
  std::vector<float> v(static_cast<std::size_t>(batch * tokens * channels));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = start + static_cast<float>(i);
  return Tensor::from_vector(v, {batch, tokens, channels});
}

TEST(PackSequences, ValidTokensFirstInPartOrder) {
  const std::int64_t C = 2;
  const TokenSequences a{iota_tokens(2, 3, C, 0.0f), {2, 3}};
  const TokenSequences b{iota_tokens(2, 2, C, 100.0f), {1, 2}};
  const TokenSequences c{iota_tokens(2, 4, C, 200.0f), {1, 1}};
  const std::vector<TokenSequences> parts{a, b, c};
  const TokenSequences packed = pack_sequences(parts);
  EXPECT_EQ(packed.lengths, (std::vector<std::int64_t>{4, 6}));
  ASSERT_EQ(packed.tokens.shape(), (core::Shape{2, 6, C}));
  const auto at = [&](const TokenSequences& s, std::int64_t b_, std::int64_t t) { return tokens_of(s.tokens, b_, t, t + 1); };
  // Row 0: a0, a1, b0, c0, then padding that repeats the first valid token.
  const std::vector<std::vector<float>> row0{at(a, 0, 0), at(a, 0, 1), at(b, 0, 0), at(c, 0, 0), at(a, 0, 0), at(a, 0, 0)};
  const std::vector<std::vector<float>> row1{at(a, 1, 0), at(a, 1, 1), at(a, 1, 2), at(b, 1, 0), at(b, 1, 1), at(c, 1, 0)};
  for (std::int64_t t = 0; t < 6; ++t) {
    EXPECT_EQ(at(packed, 0, t), row0[t]) << "row 0 token " << t;
    EXPECT_EQ(at(packed, 1, t), row1[t]) << "row 1 token " << t;
  }
  // One part is returned as is.
  const TokenSequences alone = pack_sequences(std::vector<TokenSequences>{b});
  EXPECT_EQ(values(alone.tokens), values(b.tokens));
  EXPECT_EQ(alone.lengths, b.lengths);
}

// The backward scatters: each source token's gradient is the sum of the upstream gradients at
// the packed positions that copy it (padding positions copy the row's first token).
TEST(PackSequences, GradientScattersToTheSources) {
  const std::int64_t C = 3;
  Tensor x = Tensor::from_vector(testing::tiny_normal_values(2 * 3 * C, 1), {2, 3, C});
  Tensor y = Tensor::from_vector(testing::tiny_normal_values(2 * 2 * C, 2), {2, 2, C});
  x.set_requires_grad(true);
  y.set_requires_grad(true);
  const std::vector<TokenSequences> parts{{x, {1, 3}}, {y, {2, 1}}};
  const TokenSequences packed = pack_sequences(parts);
  ASSERT_EQ(packed.lengths, (std::vector<std::int64_t>{3, 4}));
  const Tensor upstream = Tensor::from_vector(testing::tiny_normal_values(2 * 4 * C, 3), {2, 4, C});
  autograd::backward(ops::sum(ops::mul(packed.tokens, upstream)));

  const std::vector<float> g = values(upstream);
  const auto g_at = [&](std::int64_t b, std::int64_t t, std::int64_t ch) { return g[(b * 4 + t) * C + ch]; };
  std::vector<float> dx(2 * 3 * C, 0.0f), dy(2 * 2 * C, 0.0f);
  // Sources of each packed position: {x or y, token}; row 0 = x0, y0, y1, pad(x0); row 1 = x0..x2, y0.
  struct Source {
    bool from_x;
    std::int64_t t;
  };
  const std::vector<std::vector<Source>> sources{{{true, 0}, {false, 0}, {false, 1}, {true, 0}},
                                                 {{true, 0}, {true, 1}, {true, 2}, {false, 0}}};
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t t = 0; t < 4; ++t)
      for (std::int64_t ch = 0; ch < C; ++ch) {
        const Source s = sources[b][t];
        (s.from_x ? dx[(b * 3 + s.t) * C + ch] : dy[(b * 2 + s.t) * C + ch]) += g_at(b, t, ch);
      }
  expect_near(values(x.grad()), dx, 1e-6, "dx");
  expect_near(values(y.grad()), dy, 1e-6, "dy");
}

// ---- padding never reaches an output ------------------------------------------------------------

// Text rows of lengths {5, 2} and audio rows of {20, 9} frames in padded batches, and the same
// batches with different padding (ids, frames): every output of the valid part must agree.
struct PaddedBatches {
  TextBatch text = tiny_text_batch({5, 2}, 7, 20, 11);
  TextBatch text_repadded = text;
  AudioBatch audio = tiny_audio_batch({20, 9}, 32, 8, 12);
  AudioBatch audio_repadded = audio;
  ImageBatch image = tiny_image_batch(2, 8, 13);

  PaddedBatches() {
    text_repadded.ids = ops::contiguous(text.ids).detach().clone();
    auto* ids = text_repadded.ids.data<std::int64_t>();
    for (std::int64_t b = 0; b < 2; ++b)
      for (std::int64_t t = text.lengths[b]; t < 7; ++t) ids[b * 7 + t] = (ids[b * 7 + t] + 7) % 20;
    audio_repadded.features = ops::contiguous(audio.features).detach().clone();
    float* f = audio_repadded.features.data<float>();
    for (std::int64_t b = 0; b < 2; ++b)
      for (std::int64_t t = audio.frames[b]; t < 32; ++t)
        for (std::int64_t m = 0; m < 8; ++m) f[(b * 32 + t) * 8 + m] = 5.0f + static_cast<float>(t);
  }
};

void expect_same_valid_tokens(const TokenSequences& a, const TokenSequences& b, const std::string& what) {
  ASSERT_EQ(a.lengths, b.lengths) << what;
  for (std::int64_t r = 0; r < static_cast<std::int64_t>(a.lengths.size()); ++r)
    expect_near(tokens_of(a.tokens, r, 0, a.lengths[r]), tokens_of(b.tokens, r, 0, b.lengths[r]), 1e-5,
                what + " row " + std::to_string(r));
}

TEST(TriModalMasking, PaddingDoesNotChangeTheEncodings) {
  const TriModalModel model(tiny_trimodal_config(), 3);
  const PaddedBatches in;
  const autograd::NoGradGuard no_grad;
  expect_same_valid_tokens(model.encode_text(in.text), model.encode_text(in.text_repadded), "encode_text");
  expect_same_valid_tokens(model.encode_text(in.text, true), model.encode_text(in.text_repadded, true),
                           "encode_text causal");
  expect_same_valid_tokens(model.encode_audio(in.audio), model.encode_audio(in.audio_repadded), "encode_audio");
  expect_near(values(model.embed_text(in.text)), values(model.embed_text(in.text_repadded)), 1e-5, "embed_text");
  expect_near(values(model.embed_audio(in.audio)), values(model.embed_audio(in.audio_repadded)), 1e-5,
              "embed_audio");
  expect_near(values(model.classify_spoken_word(in.audio)), values(model.classify_spoken_word(in.audio_repadded)),
              1e-5, "classify_spoken_word");
  const Tensor lm = model.text_lm_logits(in.text), lm_repadded = model.text_lm_logits(in.text_repadded);
  for (std::int64_t b = 0; b < 2; ++b)
    expect_near(tokens_of(lm, b, 0, in.text.lengths[b]), tokens_of(lm_repadded, b, 0, in.text.lengths[b]), 1e-5,
                "text_lm_logits row " + std::to_string(b));
}

TEST(TriModalMasking, PaddingDoesNotChangeTheFusedOutputs) {
  for (const FusionMode fusion : kFusionModes) {
    SCOPED_TRACE(std::string(fusion_mode_name(fusion)));
    const TriModalModel model(tiny_trimodal_config(fusion), 4);
    const PaddedBatches in;
    const autograd::NoGradGuard no_grad;
    const FusionResult a = model.fuse({&in.image, &in.text, &in.audio});
    const FusionResult b = model.fuse({&in.image, &in.text_repadded, &in.audio_repadded});
    expect_near(values(a.fused), values(b.fused), 1e-5, "fused");
    expect_near(values(model.match_logits(a.fused)), values(model.match_logits(b.fused)), 1e-5, "match");
    expect_near(values(model.answer_logits(a.fused)), values(model.answer_logits(b.fused)), 1e-5, "answer");
    ASSERT_EQ(a.alphas.size(), b.alphas.size());
    for (std::size_t l = 0; l < a.alphas.size(); ++l)
      for (int m = 0; m < kModalityCount; ++m) EXPECT_NEAR(a.alphas[l][m], b.alphas[l][m], 1e-6);
  }
}

// A row's outputs do not depend on the other rows of its batch nor on how wide the batch is
// padded: each row alone, unpadded, gives the same as in the batch.
TEST(TriModalMasking, ARowAloneMatchesItsBatch) {
  const TriModalModel model(tiny_trimodal_config(), 5);
  const PaddedBatches in;
  const autograd::NoGradGuard no_grad;
  const Tensor text_embedding = model.embed_text(in.text), audio_embedding = model.embed_audio(in.audio);
  const FusionResult fused = model.fuse({&in.image, &in.text, &in.audio});
  for (std::int64_t b = 0; b < 2; ++b) {
    const std::int64_t length = in.text.lengths[b], frames = in.audio.frames[b];
    const TextBatch text{ops::contiguous(ops::slice(ops::slice(in.text.ids, 0, b, b + 1), 1, 0, length)), {length}};
    const AudioBatch audio{ops::contiguous(ops::slice(ops::slice(in.audio.features, 0, b, b + 1), 1, 0, frames)),
                           {frames}};
    const ImageBatch image{ops::contiguous(ops::slice(in.image.pixels, 0, b, b + 1))};
    const std::string what = " row " + std::to_string(b);
    expect_near(values(model.embed_text(text)), row(text_embedding, b), 1e-5, "embed_text" + what);
    expect_near(values(model.embed_audio(audio)), row(audio_embedding, b), 1e-5, "embed_audio" + what);
    expect_near(values(model.fuse({&image, &text, &audio}).fused), row(fused.fused, b), 1e-5, "fused" + what);
  }
}

// ---- CMAF weights ----------------------------------------------------------------------------------

// Sets layer l's alpha logits to distinct values, so that the softmax over a subset shows.
void set_alpha_logits(const TriModalModel& model, std::int64_t layer, std::vector<float> logits) {
  Tensor p = parameter(model, "fusion.layers." + std::to_string(layer) + ".alpha_logits");
  std::copy(logits.begin(), logits.end(), p.data<float>());
}

TEST(Cmaf, AlphasAreASoftmaxOverThePresentModalities) {
  const TriModalModel model(tiny_trimodal_config(FusionMode::kCmaf), 6);
  const std::vector<std::vector<float>> logits{{0.5f, -1.0f, 2.0f}, {-0.3f, 0.8f, 0.1f}};
  for (std::int64_t l = 0; l < 2; ++l) set_alpha_logits(model, l, logits[l]);
  const PaddedBatches in;
  const autograd::NoGradGuard no_grad;
  // Every subset of the modalities.
  for (int mask = 1; mask < 8; ++mask) {
    const bool present[kModalityCount] = {(mask & 1) != 0, (mask & 2) != 0, (mask & 4) != 0};
    SCOPED_TRACE("modalities mask " + std::to_string(mask));
    const FusionResult r = model.fuse({present[0] ? &in.image : nullptr, present[1] ? &in.text : nullptr,
                                       present[2] ? &in.audio : nullptr});
    EXPECT_EQ(r.fused.shape(), (core::Shape{2, 16}));
    ASSERT_EQ(r.alphas.size(), 2u);
    for (std::size_t l = 0; l < 2; ++l) {
      double z = 0.0, sum = 0.0;
      for (int m = 0; m < kModalityCount; ++m)
        if (present[m]) z += std::exp(logits[l][m]);
      for (int m = 0; m < kModalityCount; ++m) {
        const double expected = present[m] ? std::exp(logits[l][m]) / z : 0.0;
        EXPECT_NEAR(r.alphas[l][m], expected, 1e-6) << "layer " << l << " modality " << m;
        sum += r.alphas[l][m];
      }
      EXPECT_NEAR(sum, 1.0, 1e-6);
    }
    for (const float v : values(r.fused)) EXPECT_TRUE(std::isfinite(v));
  }
}

TEST(Cmaf, FixedAlphasAreEqualAndConcatHasNone) {
  const PaddedBatches in;
  const autograd::NoGradGuard no_grad;
  const TriModalModel fixed(tiny_trimodal_config(FusionMode::kFixed), 7);
  const FusionResult three = fixed.fuse({&in.image, &in.text, &in.audio});
  ASSERT_EQ(three.alphas.size(), 2u);
  for (const auto& layer : three.alphas)
    for (const double a : layer) EXPECT_NEAR(a, 1.0 / 3.0, 1e-7);
  const FusionResult two = fixed.fuse({nullptr, &in.text, &in.audio});
  for (const auto& layer : two.alphas) {
    EXPECT_EQ(layer[0], 0.0);
    EXPECT_NEAR(layer[1], 0.5, 1e-7);
    EXPECT_NEAR(layer[2], 0.5, 1e-7);
  }
  const TriModalModel concat(tiny_trimodal_config(FusionMode::kConcat), 7);
  const FusionResult joined = concat.fuse({&in.image, &in.text, &in.audio});
  EXPECT_TRUE(joined.alphas.empty());
  EXPECT_EQ(joined.fused.shape(), (core::Shape{2, 16}));
}

TEST(Cmaf, OneModalityAlone) {
  const PaddedBatches in;
  const autograd::NoGradGuard no_grad;
  for (const FusionMode fusion : kFusionModes) {
    SCOPED_TRACE(std::string(fusion_mode_name(fusion)));
    const TriModalModel model(tiny_trimodal_config(fusion), 8);
    for (const FusionInputs& inputs :
         {FusionInputs{&in.image, nullptr, nullptr}, FusionInputs{nullptr, &in.text, nullptr},
          FusionInputs{nullptr, nullptr, &in.audio}}) {
      const FusionResult r = model.fuse(inputs);
      EXPECT_EQ(r.fused.shape(), (core::Shape{2, 16}));
      for (const float v : values(r.fused)) EXPECT_TRUE(std::isfinite(v));
      for (const auto& layer : r.alphas) EXPECT_NEAR(layer[0] + layer[1] + layer[2], 1.0, 1e-6);
    }
  }
  EXPECT_ANY_THROW((void)TriModalModel(tiny_trimodal_config(), 8).fuse({}));
}

// ---- causal text ---------------------------------------------------------------------------------

TEST(TriModalText, LmLogitsAtTDoNotDependOnLaterTokens) {
  const TriModalModel model(tiny_trimodal_config(), 9);
  const TextBatch text = tiny_text_batch({7, 6}, 7, 20, 21);
  const autograd::NoGradGuard no_grad;
  const Tensor logits = model.text_lm_logits(text);
  EXPECT_EQ(logits.shape(), (core::Shape{2, 7, 20}));
  for (std::int64_t t = 0; t + 1 < 7; ++t) {
    TextBatch changed = text;
    changed.ids = ops::contiguous(text.ids).detach().clone();
    auto* ids = changed.ids.data<std::int64_t>();
    for (std::int64_t b = 0; b < 2; ++b)
      for (std::int64_t u = t + 1; u < 7; ++u) ids[b * 7 + u] = (ids[b * 7 + u] + 1 + u) % 20;
    const Tensor other = model.text_lm_logits(changed);
    for (std::int64_t b = 0; b < 2; ++b)
      expect_near(tokens_of(other, b, 0, t + 1), tokens_of(logits, b, 0, t + 1), 1e-5,
                  "row " + std::to_string(b) + " up to " + std::to_string(t));
    // And the later positions do see the change (the test would pass on a model that ignores ids).
    EXPECT_NE(tokens_of(other, 0, t + 1, 7), tokens_of(logits, 0, t + 1, 7));
  }
}

// ---- gradients ---------------------------------------------------------------------------------

// Every task's loss on one batch of each modality, summed: image and spoken-word
// classification, the text LM, contrastive image-text and audio-text, and the matching and
// answer heads on the fusion of all three.
struct JointBatch {
  ImageBatch image = tiny_image_batch(3, 8, 31);
  TextBatch text = tiny_text_batch({6, 3, 5}, 6, 20, 32);
  AudioBatch audio = tiny_audio_batch({24, 10, 17}, 24, 8, 33);
  Tensor classes = Tensor::from_vector(std::vector<std::int64_t>{0, 2, 1}, {3});
  Tensor words = Tensor::from_vector(std::vector<std::int64_t>{3, 0, 1}, {3});
  Tensor answers = Tensor::from_vector(std::vector<std::int64_t>{4, 1, 2}, {3});
  Tensor match = Tensor::from_vector(std::vector<float>{1.0f, 0.0f, 1.0f}, {3});
  Tensor next_tokens;  // [3 · 6]: the next id, kIgnoreIndex past each row's length

  JointBatch() {
    std::vector<std::int64_t> targets(18, ops::kIgnoreIndex);
    const auto* ids = ops::contiguous(text.ids).data<std::int64_t>();
    for (std::int64_t b = 0; b < 3; ++b)
      for (std::int64_t t = 0; t + 1 < text.lengths[b]; ++t) targets[b * 6 + t] = ids[b * 6 + t + 1];
    next_tokens = Tensor::from_vector(targets, {18});
  }
};

Tensor joint_loss(const TriModalModel& model, const JointBatch& in) {
  const Tensor lm = model.text_lm_logits(in.text);
  const Tensor text_embedding = model.embed_text(in.text);
  const Tensor fused = model.fuse({&in.image, &in.text, &in.audio}).fused;
  const Tensor losses[] = {
      ops::cross_entropy(model.classify_image(in.image), in.classes),
      ops::cross_entropy(model.classify_spoken_word(in.audio), in.words),
      ops::cross_entropy(ops::reshape(lm, {18, lm.size(2)}), in.next_tokens),
      ops::contrastive_loss(model.embed_image(in.image), text_embedding, model.log_temperature()),
      ops::contrastive_loss(model.embed_audio(in.audio), text_embedding, model.log_temperature()),
      ops::binary_cross_entropy_with_logits(model.match_logits(fused), in.match),
      ops::cross_entropy(model.answer_logits(fused), in.answers),
  };
  Tensor total = losses[0];
  for (std::size_t i = 1; i < std::size(losses); ++i) total = ops::add(total, losses[i]);
  return total;
}

TEST(TriModalGradients, EveryParameterGetsAGradient) {
  for (const FusionMode fusion : kFusionModes) {
    SCOPED_TRACE(std::string(fusion_mode_name(fusion)));
    TriModalModel model(tiny_trimodal_config(fusion), 10);
    const JointBatch in;
    autograd::backward(joint_loss(model, in));
    for (const auto& [name, p] : model.named_parameters()) {
      ASSERT_TRUE(p.grad().defined()) << name;
      const std::vector<float> g = values(p.grad());
      EXPECT_TRUE(std::all_of(g.begin(), g.end(), [](float v) { return std::isfinite(v); })) << name;
      EXPECT_TRUE(std::any_of(g.begin(), g.end(), [](float v) { return v != 0.0f; })) << name << ": all zero";
    }
  }
}

// Central differences of the joint loss in f32 against the gradient, for the elements of a
// few parameters along the whole path (image conv at the bottom, the CMAF α at the top, the
// audio projection). Step 1e-2 for weights of scale ~0.5: the loss is ~10, so f32 rounding costs
// ~1e-6 / 2e-2 = 5e-5 in the quotient, and the curvature a few 1e-4 — inside 1e-3 + 2 % of |g|.
TEST(TriModalGradients, MatchFiniteDifferences) {
  TriModalModel model(tiny_trimodal_config(FusionMode::kCmaf), 11);
  const JointBatch in;
  // Distinct α logits, so that each modality's weight has its own gradient.
  set_alpha_logits(model, 0, {0.3f, -0.2f, 0.5f});
  autograd::backward(joint_loss(model, in));
  struct Probe {
    std::string name;
    std::vector<std::int64_t> elements;  // flat indices; -1: the one with the largest |gradient|
    float step;
  };
  // The token embeddings (std 0.02) feed an RMSNorm of vectors that small, which bends the loss
  // on a scale of ~0.01: their step is 1e-3 (rounding then costs ~5e-3, against gradients ~10).
  // The first audio conv's largest gradient (~9) comes with curvature that puts step 1e-2 1.5 %
  // off (3e-3: 0.1 %, 1e-3: 0.01 %).
  const std::vector<Probe> probes{{"image_stem.conv.weight", {0, 13, -1}, 1e-2f},
                                  {"fusion.layers.0.alpha_logits", {0, 1, 2}, 1e-2f},
                                  {"audio_stem.project.weight", {5, -1}, 1e-2f},
                                  {"audio_stem.conv0.weight", {-1}, 3e-3f},
                                  {"trunk.layers.0.attn.q_proj.weight", {-1}, 1e-2f},
                                  {"text_stem.tokens.weight", {-1}, 1e-3f},
                                  {"log_temperature", {0}, 1e-2f}};
  for (const Probe& probe : probes) {
    const float step = probe.step;
    Tensor p = parameter(model, probe.name);
    const std::vector<float> grad = values(p.grad());
    for (std::int64_t element : probe.elements) {
      if (element < 0)
        element = std::max_element(grad.begin(), grad.end(), [](float a, float b) { return std::abs(a) < std::abs(b); }) -
                  grad.begin();
      float& w = p.data<float>()[element];
      const float original = w;
      double loss_plus, loss_minus;
      {
        const autograd::NoGradGuard no_grad;
        w = original + step;
        loss_plus = joint_loss(model, in).item();
        w = original - step;
        loss_minus = joint_loss(model, in).item();
        w = original;
      }
      const double numeric = (loss_plus - loss_minus) / (2.0 * step);
      const double analytic = grad[element];
      EXPECT_NEAR(numeric, analytic, 1e-3 + 0.02 * std::abs(analytic)) << probe.name << "[" << element << "]";
    }
  }
}

}  // namespace
}  // namespace sieve::nn
