// adamw_update vs a scalar double implementation of torch.optim.AdamW's formula, over several
// steps. Run with SIEVE_ISA=scalar to cover the portable loop.
#include "sieve/kernels/cpu/adamw.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "sieve/core/error.h"

namespace sieve::kernels::cpu {
namespace {

struct State {
  std::vector<double> param, m, v;
};

void reference_step(const AdamWHyper& h, const std::vector<float>& grad, State& s) {
  const double lr = h.lr, b1 = h.beta1, b2 = h.beta2, eps = h.eps, wd = h.weight_decay;
  const double bias1 = 1.0 - std::pow(b1, static_cast<double>(h.step));
  const double bias2 = 1.0 - std::pow(b2, static_cast<double>(h.step));
  for (std::size_t i = 0; i < grad.size(); ++i) {
    const double g = grad[i];
    s.param[i] *= 1.0 - lr * wd;
    s.m[i] = b1 * s.m[i] + (1.0 - b1) * g;
    s.v[i] = b2 * s.v[i] + (1.0 - b2) * g * g;
    const double denom = std::sqrt(s.v[i]) / std::sqrt(bias2) + eps;
    s.param[i] -= lr / bias1 * s.m[i] / denom;
  }
}

void run_and_compare(std::int64_t n, AdamWHyper hyper, int steps, std::int64_t first_step) {
  std::mt19937 rng(static_cast<std::uint32_t>(n));
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> param(n), m(n, 0.0f), v(n, 0.0f), grad(n);
  for (float& p : param) p = dist(rng);
  State ref{std::vector<double>(param.begin(), param.end()), std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};
  for (int step = 0; step < steps; ++step) {
    for (std::int64_t i = 0; i < n; ++i) grad[i] = dist(rng) * (i % 7 == 0 ? 1e-4f : 1.0f);  // mixed scales
    hyper.step = first_step + step;
    adamw_update(hyper, n, param.data(), grad.data(), m.data(), v.data());
    reference_step(hyper, grad, ref);
  }
  for (std::int64_t i = 0; i < n; ++i) {
    ASSERT_NEAR(param[i], ref.param[i], 1e-5 * (1.0 + std::abs(ref.param[i]))) << "param " << i;
    // m mixes gradients of both signs, so cancellation leaves an error on the scale of g (~1).
    ASSERT_NEAR(m[i], ref.m[i], 1e-6 + 1e-5 * std::abs(ref.m[i])) << "exp_avg " << i;
    ASSERT_NEAR(v[i], ref.v[i], 1e-5 * (1e-12 + std::abs(ref.v[i]))) << "exp_avg_sq " << i;
  }
}

TEST(AdamW, MatchesReferenceOverSeveralSteps) {
  AdamWHyper hyper;
  hyper.lr = 3e-3;
  hyper.weight_decay = 0.1;
  run_and_compare(1037, hyper, 10, 1);
}

TEST(AdamW, LargeArrayAcrossThreadsAndLateSteps) {
  AdamWHyper hyper;
  hyper.lr = 1e-3;
  hyper.beta1 = 0.8;
  hyper.beta2 = 0.95;
  hyper.eps = 1e-6;
  hyper.weight_decay = 0.0;
  run_and_compare(50001, hyper, 3, 1);
  run_and_compare(4099, hyper, 3, 1000);  // bias corrections ~1
}

TEST(AdamW, FirstStepWithZeroGradientOnlyDecays) {
  AdamWHyper hyper;
  hyper.lr = 0.5;
  hyper.weight_decay = 0.2;
  std::vector<float> param = {1.0f, -2.0f, 4.0f}, grad(3, 0.0f), m(3, 0.0f), v(3, 0.0f);
  adamw_update(hyper, 3, param.data(), grad.data(), m.data(), v.data());
  const auto decay = static_cast<float>(1.0 - 0.5 * 0.2);
  EXPECT_EQ(param, (std::vector<float>{decay, -2.0f * decay, 4.0f * decay}));
  EXPECT_EQ(m, std::vector<float>(3, 0.0f));
  EXPECT_EQ(v, std::vector<float>(3, 0.0f));
}

TEST(AdamW, FirstStepMovesEachWeightByAboutLr) {
  // At step 1 the bias-corrected m / sqrt(v) is sign(g) (up to eps): the classic Adam check.
  AdamWHyper hyper;
  hyper.lr = 0.01;
  hyper.weight_decay = 0.0;
  std::vector<float> param = {0.0f, 0.0f}, grad = {3.0f, -0.25f}, m(2, 0.0f), v(2, 0.0f);
  adamw_update(hyper, 2, param.data(), grad.data(), m.data(), v.data());
  EXPECT_NEAR(param[0], -0.01f, 1e-7f);
  EXPECT_NEAR(param[1], 0.01f, 1e-7f);
}

TEST(AdamW, RejectsZeroStepAndBadBetas) {
  AdamWHyper hyper;
  hyper.step = 0;
  float x = 0.0f;
  EXPECT_THROW(adamw_update(hyper, 1, &x, &x, &x, &x), core::Error);
  hyper.step = 1;
  hyper.beta2 = 1.0;  // bias correction 1 - beta2^t would be 0
  EXPECT_THROW(adamw_update(hyper, 1, &x, &x, &x, &x), core::Error);
}

}  // namespace
}  // namespace sieve::kernels::cpu
