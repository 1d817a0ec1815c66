// contrastive_loss (CLIP's symmetric InfoNCE with a learned log-temperature): value vs a float64
// reference computed here, gradients in a, b and log_temperature by finite differences, the
// clamp of the scale at 100, a golden check against PyTorch
// (tests/fixtures/multimodal_ops/contrastive.safetensors from scripts/make_op_fixtures.py),
// and errors. Letters: N pairs, C features.
#include "sieve/ops/contrastive.h"

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

// The loss in double, straight from its definition.
double reference_loss(const Tensor& a, const Tensor& b, double log_temperature) {
  const std::int64_t N = a.size(0), C = a.size(1);
  auto normalised = [&](const Tensor& x) {
    const std::vector<float> values = x.to_vector();
    std::vector<double> v(values.begin(), values.end());
    for (std::int64_t i = 0; i < N; ++i) {
      double sq = 0;
      for (std::int64_t c = 0; c < C; ++c) sq += v[i * C + c] * v[i * C + c];
      for (std::int64_t c = 0; c < C; ++c) v[i * C + c] /= std::max(std::sqrt(sq), 1e-12);
    }
    return v;
  };
  const auto an = normalised(a), bn = normalised(b);
  const double s = std::exp(std::min(log_temperature, std::log(100.0)));
  std::vector<double> z(static_cast<std::size_t>(N * N));
  for (std::int64_t i = 0; i < N; ++i)
    for (std::int64_t j = 0; j < N; ++j) {
      double dot = 0;
      for (std::int64_t c = 0; c < C; ++c) dot += an[i * C + c] * bn[j * C + c];
      z[i * N + j] = s * dot;
    }
  double loss = 0;
  for (std::int64_t i = 0; i < N; ++i) {
    double row = 0, col = 0;
    for (std::int64_t j = 0; j < N; ++j) {
      row += std::exp(z[i * N + j]);
      col += std::exp(z[j * N + i]);
    }
    loss += (std::log(row) - z[i * N + i]) + (std::log(col) - z[i * N + i]);
  }
  return loss / (2.0 * N);
}

Tensor scalar(float value) { return Tensor::from_vector(std::vector<float>{value}, {1}); }

TEST(ContrastiveLoss, MatchesFloat64Reference) {
  struct Case {
    std::int64_t n, c;
    float log_temperature;
  };
  for (const Case& k : {Case{7, 5, std::log(1 / 0.07f)}, Case{1, 4, 2.0f}, Case{300, 64, 3.0f},
                        Case{9, 3, 6.0f /* clamped to ln 100 */}, Case{5, 8, -1.0f}}) {
    SCOPED_TRACE("N " + std::to_string(k.n) + ", t " + std::to_string(k.log_temperature));
    const Tensor a = uniform_tensor({k.n, k.c}, 1), b = uniform_tensor({k.n, k.c}, 2);
    const Tensor loss = contrastive_loss(a, b, scalar(k.log_temperature));
    ASSERT_EQ(loss.shape(), (core::Shape{1}));
    const double want = reference_loss(a, b, k.log_temperature);
    EXPECT_NEAR(loss.item(), want, 2e-6 * (1.0 + std::abs(want)));
  }
}

TEST(ContrastiveLoss, AlignedPairsGiveLowLossShuffledHigh) {
  // Rows of a one-hot basis: at scale 100, matching pairs give ~0 and mismatched ones ~100.
  const std::int64_t N = 4;
  std::vector<float> eye(N * N, 0.0f), shifted(N * N, 0.0f);
  for (std::int64_t i = 0; i < N; ++i) {
    eye[i * N + i] = 1.0f;
    shifted[i * N + (i + 1) % N] = 1.0f;
  }
  const Tensor a = Tensor::from_vector(eye, {N, N});
  EXPECT_LT(contrastive_loss(a, a, scalar(std::log(100.0f))).item(), 1e-6);
  EXPECT_GT(contrastive_loss(a, Tensor::from_vector(shifted, {N, N}), scalar(std::log(100.0f))).item(), 99.0);
}

TEST(ContrastiveLoss, GradientsInAllThreeInputs) {
  const Tensor a = requires_grad(uniform_tensor({6, 4}, 3)), b = requires_grad(uniform_tensor({6, 4}, 4));
  const Tensor t = requires_grad(scalar(1.5f));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return contrastive_loss(in[0], in[1], in[2]); },
                        {a, b, t}));
}

TEST(ContrastiveLoss, ClampedScaleStopsTheTemperatureGradient) {
  const Tensor a = requires_grad(uniform_tensor({5, 3}, 5)), b = requires_grad(uniform_tensor({5, 3}, 6));
  const Tensor t = requires_grad(scalar(5.0f));  // > ln 100
  autograd::backward(contrastive_loss(a, b, t));
  EXPECT_EQ(t.grad().item(), 0.0);
  testing::GradcheckOptions options;
  options.eps = 1e-3f;  // logits are 100·cosine: smaller steps keep the differences linear
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return contrastive_loss(in[0], in[1], scalar(5.0f)); },
                        {requires_grad(uniform_tensor({5, 3}, 5)), requires_grad(uniform_tensor({5, 3}, 6))},
                        options));
}

TEST(ContrastiveLoss, MatchesPyTorch) {
  const auto fixture = testing::read_fixture_tensors(std::filesystem::path(SIEVE_FIXTURE_DIR) / "multimodal_ops" /
                                                     "contrastive.safetensors");
  for (const std::string name : {"clip_init", "clamped"}) {
    SCOPED_TRACE(name);
    const Tensor a = requires_grad(fixture.at(name + ".a").clone());
    const Tensor b = requires_grad(fixture.at(name + ".b").clone());
    const Tensor t = requires_grad(fixture.at(name + ".log_temperature").clone());
    const Tensor loss = contrastive_loss(a, b, t);
    testing::expect_close(loss, fixture.at(name + ".loss"), 1e-5, 1e-6, "loss");
    autograd::backward(loss);
    testing::expect_close(a.grad(), fixture.at(name + ".grad.a"), 1e-4, 1e-6, "grad.a");
    testing::expect_close(b.grad(), fixture.at(name + ".grad.b"), 1e-4, 1e-6, "grad.b");
    testing::expect_close(t.grad(), fixture.at(name + ".grad.log_temperature"), 1e-4, 1e-6, "grad.log_temperature");
  }
}

TEST(ContrastiveLoss, BadInputsAreErrors) {
  const Tensor a = uniform_tensor({4, 3}, 1), t = scalar(1.0f);
  EXPECT_THROW(contrastive_loss(a, uniform_tensor({4, 2}, 2), t), core::Error);         // shapes differ
  EXPECT_THROW(contrastive_loss(uniform_tensor({12}, 1), uniform_tensor({12}, 2), t), core::Error);  // rank
  EXPECT_THROW(contrastive_loss(a, a, uniform_tensor({2}, 3)), core::Error);            // one value
  EXPECT_THROW(contrastive_loss(a, a, scalar(NAN)), core::Error);
  EXPECT_THROW(contrastive_loss(uniform_tensor({0, 3}, 1), uniform_tensor({0, 3}, 2), t), core::Error);  // N >= 1
}

}  // namespace
}  // namespace sieve::ops
