// ctc_loss: value against a brute-force sum over every frame-level path (tiny T and V), gradients
// by finite differences, frames past the input length, an impossible target, a golden check
// against torch.nn.functional.ctc_loss (tests/fixtures/multimodal_ops/ctc.safetensors from
// scripts/make_op_fixtures.py), and errors. Letters: B batch, T frames, V classes, U labels.
#include "sieve/ops/ctc_loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "close_tensors.h"
#include "fixture_tensors.h"
#include "gradcheck.h"
#include "sieve/autograd/engine.h"
#include "sieve/core/error.h"

namespace sieve::ops {
namespace {

using testing::gradcheck;
using testing::requires_grad;
using testing::uniform_tensor;

// −log Σ over all V^frames paths that collapse (merge repeats, drop blanks) to `target` of
// Π softmax(logits[t])[π_t], in double. logits: one sequence [T, V].
double brute_force(const std::vector<float>& logits, std::int64_t V, std::int64_t frames,
                   const std::vector<std::int64_t>& target, std::int64_t blank) {
  std::vector<double> p(static_cast<std::size_t>(frames * V));
  for (std::int64_t t = 0; t < frames; ++t) {
    double sum = 0;
    for (std::int64_t k = 0; k < V; ++k) sum += std::exp(double(logits[t * V + k]));
    for (std::int64_t k = 0; k < V; ++k) p[t * V + k] = std::exp(double(logits[t * V + k])) / sum;
  }
  double total = 0;
  std::vector<std::int64_t> path(static_cast<std::size_t>(frames), 0);
  for (;;) {
    std::vector<std::int64_t> collapsed;
    for (std::int64_t t = 0; t < frames; ++t) {
      if (path[t] != blank && (t == 0 || path[t] != path[t - 1])) collapsed.push_back(path[t]);
    }
    if (collapsed == target) {
      double prob = 1;
      for (std::int64_t t = 0; t < frames; ++t) prob *= p[t * V + path[t]];
      total += prob;
    }
    std::int64_t t = 0;  // next path, odometer order
    while (t < frames && ++path[t] == V) path[t++] = 0;
    if (t == frames) break;
  }
  return -std::log(total);
}

TEST(CtcLoss, MatchesBruteForceOverAllPaths) {
  // B = 3 sequences over V = 3 classes (blank 0) and T = 6 frames: a repeated label, which
  // needs a blank between its copies; a shorter input; an empty target.
  const std::int64_t B = 3, T = 6, V = 3, U = 3;
  const Tensor logits = uniform_tensor({B, T, V}, 1, -2.0f, 2.0f);
  const std::vector<std::vector<std::int64_t>> labels = {{1, 1, 2}, {2, 1}, {}};
  const std::vector<std::int64_t> input_lengths = {6, 4, 5}, target_lengths = {3, 2, 0};
  std::vector<std::int64_t> padded(B * U, 0);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::size_t u = 0; u < labels[b].size(); ++u) padded[b * U + u] = labels[b][u];
  const Tensor targets = Tensor::from_vector(padded, {B, U});
  const auto z = logits.to_vector();
  double want = 0;
  for (std::int64_t b = 0; b < B; ++b) {
    const std::vector<float> one(z.begin() + b * T * V, z.begin() + (b + 1) * T * V);
    want += brute_force(one, V, input_lengths[b], labels[b], 0) / std::max<std::int64_t>(target_lengths[b], 1);
  }
  want /= B;
  EXPECT_NEAR(ctc_loss(logits, targets, input_lengths, target_lengths).item(), want, 1e-5 * want);
  // Blank 1, with labels moved along (1, 2 → 2, 0), on a non-contiguous view of the same logits.
  std::vector<std::int64_t> shifted = padded;
  for (auto& k : shifted) k = (k + 1) % V;
  const Tensor strided = logits.transpose(1, 2).contiguous().transpose(1, 2);
  ASSERT_FALSE(strided.is_contiguous());
  EXPECT_NEAR(ctc_loss(strided, Tensor::from_vector(shifted, {B, U}), input_lengths, target_lengths, 1).item(),
              [&] {
                double w = 0;
                for (std::int64_t b = 0; b < B; ++b) {
                  std::vector<float> one(z.begin() + b * T * V, z.begin() + (b + 1) * T * V);
                  std::vector<std::int64_t> target;
                  for (std::int64_t k : labels[b]) target.push_back((k + 1) % V);
                  w += brute_force(one, V, input_lengths[b], target, 1) / std::max<std::int64_t>(target_lengths[b], 1);
                }
                return w / B;
              }(),
              1e-5 * want);
}

TEST(CtcLoss, GradientsAndPaddingFrames) {
  const std::int64_t B = 2, T = 5, V = 4;
  const std::vector<std::int64_t> input_lengths = {5, 3}, target_lengths = {2, 1};
  const Tensor targets = Tensor::from_vector(std::vector<std::int64_t>{3, 3, 2, 0}, {B, 2});
  EXPECT_TRUE(gradcheck(
      [&](const std::vector<Tensor>& in) { return ctc_loss(in[0], targets, input_lengths, target_lengths); },
      {requires_grad(uniform_tensor({B, T, V}, 2))}));
  // Frames past an input length get no gradient; within it, each frame's gradient sums to 0
  // (softmax minus an occupancy that sums to 1).
  const Tensor logits = requires_grad(uniform_tensor({B, T, V}, 3));
  autograd::backward(ctc_loss(logits, targets, input_lengths, target_lengths));
  const auto g = logits.grad().to_vector();
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t) {
      double sum = 0, mag = 0;
      for (std::int64_t k = 0; k < V; ++k) {
        sum += g[(b * T + t) * V + k];
        mag += std::abs(g[(b * T + t) * V + k]);
      }
      EXPECT_NEAR(sum, 0.0, 1e-6);
      if (t >= input_lengths[b]) {
        EXPECT_EQ(mag, 0.0) << b << " " << t;
      }
    }
}

TEST(CtcLoss, ImpossibleTargetAddsNothing) {
  // Three copies of one label need 5 frames (1 _ 1 _ 1); 4 are given.
  const Tensor logits = requires_grad(uniform_tensor({1, 4, 3}, 4));
  const Tensor targets = Tensor::from_vector(std::vector<std::int64_t>{1, 1, 1}, {1, 3});
  const std::vector<std::int64_t> input_lengths = {4}, target_lengths = {3};
  const Tensor loss = ctc_loss(logits, targets, input_lengths, target_lengths);
  EXPECT_EQ(loss.item(), 0.0);
  autograd::backward(loss);
  for (float x : logits.grad().to_vector()) EXPECT_EQ(x, 0.0f);
}

TEST(CtcLoss, MatchesPyTorch) {
  const auto fixture = testing::read_fixture_tensors(std::filesystem::path(SIEVE_FIXTURE_DIR) / "multimodal_ops" /
                                                     "ctc.safetensors");
  for (const std::string name : {"ctc_batch", "ctc_infeasible"}) {
    SCOPED_TRACE(name);
    const Tensor logits = requires_grad(fixture.at(name + ".logits").clone());
    const Tensor& inputs = fixture.at(name + ".input_lengths");
    const Tensor& labels = fixture.at(name + ".target_lengths");
    const std::vector<std::int64_t> input_lengths(inputs.data<std::int64_t>(),
                                                  inputs.data<std::int64_t>() + inputs.numel());
    const std::vector<std::int64_t> target_lengths(labels.data<std::int64_t>(),
                                                   labels.data<std::int64_t>() + labels.numel());
    const Tensor loss = ctc_loss(logits, fixture.at(name + ".targets"), input_lengths, target_lengths);
    testing::expect_close(loss, fixture.at(name + ".loss"), 1e-5, 1e-6, "loss");
    autograd::backward(loss);
    testing::expect_close(logits.grad(), fixture.at(name + ".grad.logits"), 1e-4, 1e-6, "grad.logits");
  }
}

TEST(CtcLoss, BadInputsAreErrors) {
  const Tensor logits = uniform_tensor({2, 5, 4}, 1);
  const Tensor targets = Tensor::from_vector(std::vector<std::int64_t>{1, 2, 3, 0}, {2, 2});
  const std::vector<std::int64_t> ok_in = {5, 4}, ok_tl = {2, 1};
  EXPECT_NO_THROW(ctc_loss(logits, targets, ok_in, ok_tl));
  const std::vector<std::int64_t> one = {5}, long_in = {6, 4}, zero_in = {0, 4}, long_tl = {3, 1};
  EXPECT_THROW(ctc_loss(logits, targets, one, ok_tl), core::Error);      // one per batch
  EXPECT_THROW(ctc_loss(logits, targets, long_in, ok_tl), core::Error);  // > T
  EXPECT_THROW(ctc_loss(logits, targets, zero_in, ok_tl), core::Error);  // < 1
  EXPECT_THROW(ctc_loss(logits, targets, ok_in, long_tl), core::Error);  // > U
  const Tensor blank_label = Tensor::from_vector(std::vector<std::int64_t>{1, 0, 3, 0}, {2, 2});
  EXPECT_THROW(ctc_loss(logits, blank_label, ok_in, ok_tl), core::Error);  // the blank as a label
  const Tensor out_of_range = Tensor::from_vector(std::vector<std::int64_t>{1, 4, 3, 0}, {2, 2});
  EXPECT_THROW(ctc_loss(logits, out_of_range, ok_in, ok_tl), core::Error);
  EXPECT_THROW(ctc_loss(logits, targets, ok_in, ok_tl, 4), core::Error);  // blank outside V
  EXPECT_THROW(ctc_loss(logits, uniform_tensor({2, 2}, 2), ok_in, ok_tl), core::Error);  // targets dtype
}

}  // namespace
}  // namespace sieve::ops
