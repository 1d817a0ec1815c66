// cross_entropy: value vs a double log-softmax reference, ignore_index, gradients, errors.
// binary_cross_entropy_with_logits: value vs the textbook formula in double, gradients, errors.
// Letters: N rows, V vocabulary.
#include "sieve/ops/loss.h"

#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.h"

namespace sieve::ops {
namespace {

using testing::gradcheck;
using testing::requires_grad;
using testing::uniform_tensor;

double reference(const std::vector<float>& logits, const std::vector<std::int64_t>& targets, std::int64_t V) {
  double total = 0.0;
  int count = 0;
  for (std::size_t r = 0; r < targets.size(); ++r) {
    if (targets[r] == kIgnoreIndex) continue;
    double mx = -INFINITY, s = 0.0;
    for (std::int64_t v = 0; v < V; ++v) mx = std::max(mx, double(logits[r * V + v]));
    for (std::int64_t v = 0; v < V; ++v) s += std::exp(logits[r * V + v] - mx);
    total += mx + std::log(s) - logits[r * V + targets[r]];
    ++count;
  }
  return total / count;
}

Tensor ids(const std::vector<std::int64_t>& values) {
  return Tensor::from_vector(values, {static_cast<std::int64_t>(values.size())});
}

TEST(CrossEntropy, MatchesReference) {
  const Tensor logits = uniform_tensor({6, 37}, 1, -4.0f, 4.0f);
  const std::vector<std::int64_t> t{0, 36, 5, 17, 17, 2};
  const Tensor loss = cross_entropy(logits, ids(t));
  EXPECT_EQ(loss.numel(), 1);
  EXPECT_NEAR(loss.item(), reference(logits.to_vector(), t, 37), 1e-5);
}

TEST(CrossEntropy, IgnoredRowsAreSkipped) {
  const Tensor logits = uniform_tensor({4, 9}, 2, -2.0f, 2.0f);
  const std::vector<std::int64_t> t{3, kIgnoreIndex, 8, kIgnoreIndex};
  EXPECT_NEAR(cross_entropy(logits, ids(t)).item(), reference(logits.to_vector(), t, 9), 1e-5);
}

TEST(CrossEntropy, Gradient) {
  const Tensor logits = requires_grad(uniform_tensor({5, 7}, 3, -2.0f, 2.0f));
  const Tensor t = ids({1, kIgnoreIndex, 6, 0, 3});
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return cross_entropy(in[0], in[1]); }, {logits, t}));
}

TEST(CrossEntropy, GradientScalesWithUpstream) {
  // d(2·loss)/dlogits through a scaled seed: the backward must use the incoming gradient.
  Tensor logits = requires_grad(uniform_tensor({3, 4}, 4));
  const Tensor t = ids({0, 1, 2});
  autograd::backward(cross_entropy(logits, t), Tensor::full({}, 1.0));
  const auto g1 = logits.grad().to_vector();
  logits.zero_grad();
  autograd::backward(cross_entropy(logits, t), Tensor::full({}, 2.0));
  const auto g2 = logits.grad().to_vector();
  for (std::size_t i = 0; i < g1.size(); ++i) EXPECT_NEAR(g2[i], 2.0 * g1[i], 1e-6);
}

TEST(CrossEntropy, AllIgnoredIsNaN) {
  const Tensor logits = uniform_tensor({2, 3}, 5);
  EXPECT_TRUE(std::isnan(cross_entropy(logits, ids({kIgnoreIndex, kIgnoreIndex})).item()));
}

TEST(CrossEntropy, BadInputsAreErrors) {
  const Tensor logits = uniform_tensor({2, 3}, 6);
  EXPECT_THROW(cross_entropy(logits, ids({0, 3})), core::Error);        // target == V
  EXPECT_THROW(cross_entropy(logits, ids({0, -2})), core::Error);       // negative, not ignore
  EXPECT_THROW(cross_entropy(logits, ids({0, 1, 2})), core::Error);     // wrong N
  EXPECT_THROW(cross_entropy(uniform_tensor({2, 3, 1}, 7), ids({0, 1})), core::Error);
  EXPECT_THROW(cross_entropy(logits, Tensor::from_vector(std::vector<std::int32_t>{0, 1}, {2})), core::Error);
}

double bce_reference(const std::vector<float>& s, const std::vector<float>& y) {
  double total = 0.0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const double p = 1.0 / (1.0 + std::exp(-double(s[i])));
    total += -double(y[i]) * std::log(p) - (1.0 - double(y[i])) * std::log(1.0 - p);
  }
  return total / double(s.size());
}

TEST(BinaryCrossEntropyWithLogits, MatchesReference) {
  const Tensor logits = uniform_tensor({3, 11}, 8, -6.0f, 6.0f);
  const Tensor targets = uniform_tensor({3, 11}, 9, 0.0f, 1.0f);
  const Tensor loss = binary_cross_entropy_with_logits(logits, targets);
  EXPECT_EQ(loss.numel(), 1);
  EXPECT_NEAR(loss.item(), bce_reference(logits.to_vector(), targets.to_vector()), 1e-6);
  // Hard targets and large logits: no overflow (σ(±80) rounds to 0 or 1 in the textbook form).
  const Tensor big = Tensor::from_vector(std::vector<float>{80.0f, -80.0f, 80.0f, -80.0f}, {4});
  const Tensor hard = Tensor::from_vector(std::vector<float>{1.0f, 0.0f, 0.0f, 1.0f}, {4});
  EXPECT_NEAR(binary_cross_entropy_with_logits(big, hard).item(), (80.0 + 80.0) / 4.0, 1e-4);
}

TEST(BinaryCrossEntropyWithLogits, IsSmallestAtTheTarget) {
  // Soft targets: the loss over s is minimal where σ(s) = y, i.e. s = logit(y).
  const std::vector<float> y{0.2f, 0.5f, 0.9f};
  const auto loss_at = [&](float shift) {
    std::vector<float> s;
    for (float t : y) s.push_back(std::log(t / (1.0f - t)) + shift);
    return binary_cross_entropy_with_logits(Tensor::from_vector(s, {3}), Tensor::from_vector(y, {3})).item();
  };
  EXPECT_LT(loss_at(0.0f), loss_at(0.1f));
  EXPECT_LT(loss_at(0.0f), loss_at(-0.1f));
}

TEST(BinaryCrossEntropyWithLogits, WeightedIsTheWeightedMean) {
  const Tensor logits = uniform_tensor({2, 7}, 14, -5.0f, 5.0f);
  const Tensor targets = uniform_tensor({2, 7}, 15, 0.0f, 1.0f);
  const Tensor weights = uniform_tensor({2, 7}, 16, 0.0f, 4.0f);
  const auto s = logits.to_vector(), y = targets.to_vector(), w = weights.to_vector();
  double total = 0.0, weight_sum = 0.0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    total += w[i] * bce_reference({s[i]}, {y[i]});
    weight_sum += w[i];
  }
  EXPECT_NEAR(binary_cross_entropy_with_logits(logits, targets, weights).item(), total / weight_sum, 1e-6);
  // Equal weights are the plain mean.
  EXPECT_NEAR(binary_cross_entropy_with_logits(logits, targets, Tensor::full({2, 7}, 3.0)).item(),
              binary_cross_entropy_with_logits(logits, targets).item(), 1e-6);
  EXPECT_THROW(binary_cross_entropy_with_logits(logits, targets, Tensor::full({7}, 1.0)), core::Error);
  EXPECT_THROW(binary_cross_entropy_with_logits(logits, targets, Tensor::zeros({2, 7})), core::Error);
}

TEST(BinaryCrossEntropyWithLogits, WeightedGradient) {
  const Tensor logits = requires_grad(uniform_tensor({3, 5}, 17, -3.0f, 3.0f));
  const Tensor targets = uniform_tensor({3, 5}, 18, 0.0f, 1.0f);
  const Tensor weights = uniform_tensor({3, 5}, 19, 0.5f, 4.0f);
  EXPECT_TRUE(gradcheck(
      [&](const std::vector<Tensor>& in) { return binary_cross_entropy_with_logits(in[0], in[1], weights); },
      {logits, targets}));
}

TEST(BinaryCrossEntropyWithLogits, Gradient) {
  const Tensor logits = requires_grad(uniform_tensor({4, 6}, 10, -3.0f, 3.0f));
  const Tensor targets = uniform_tensor({4, 6}, 11, 0.0f, 1.0f);
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& in) { return binary_cross_entropy_with_logits(in[0], in[1]); },
      {logits, targets}));
  // The analytic form: (σ(s) − y) / N, scaled by the incoming gradient.
  Tensor s = requires_grad(uniform_tensor({5}, 12, -2.0f, 2.0f));
  const Tensor t = uniform_tensor({5}, 13, 0.0f, 1.0f);
  autograd::backward(binary_cross_entropy_with_logits(s, t), Tensor::full({}, 3.0));
  const auto g = s.grad().to_vector(), sv = s.to_vector(), tv = t.to_vector();
  for (std::size_t i = 0; i < g.size(); ++i)
    EXPECT_NEAR(g[i], 3.0 * (1.0 / (1.0 + std::exp(-double(sv[i]))) - tv[i]) / 5.0, 1e-6);
}

TEST(BinaryCrossEntropyWithLogits, BadInputsAreErrors) {
  const Tensor logits = uniform_tensor({2, 3}, 14);
  EXPECT_THROW(binary_cross_entropy_with_logits(logits, uniform_tensor({3, 2}, 15)), core::Error);
  EXPECT_THROW(binary_cross_entropy_with_logits(logits, requires_grad(uniform_tensor({2, 3}, 16))), core::Error);
  EXPECT_THROW(binary_cross_entropy_with_logits(logits, Tensor::zeros({2, 3}, core::DType::bf16)), core::Error);
}

}  // namespace
}  // namespace sieve::ops
