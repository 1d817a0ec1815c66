// Fused cross-entropy vs a naive double reference (log-softmax + NLL, mean over non-ignored
// rows); backward vs central finite differences of that reference.
// Shape letters: N rows, V vocab (cross_entropy.h).
#include "sieve/kernels/cpu/cross_entropy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "reference_checks.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"

namespace sieve::kernels::cpu {
namespace {

using core::DType;
using testing::expect_close;
using testing::finite_difference_grad;
using testing::max_abs;
using testing::random_floats;
using testing::to_double;

constexpr std::int64_t kIgnore = kCrossEntropyIgnoreIndex;

std::vector<double> logsumexp_reference(std::int64_t N, std::int64_t V, const std::vector<double>& x) {
  std::vector<double> lse(static_cast<std::size_t>(N));
  for (std::int64_t r = 0; r < N; ++r) {
    double m = -INFINITY;
    for (std::int64_t v = 0; v < V; ++v) m = std::max(m, x[r * V + v]);
    double sum = 0.0;
    for (std::int64_t v = 0; v < V; ++v) sum += std::exp(x[r * V + v] - m);
    lse[r] = m + std::log(sum);
  }
  return lse;
}

double loss_reference(std::int64_t N, std::int64_t V, const std::vector<double>& x,
                      const std::vector<std::int64_t>& targets) {
  const auto lse = logsumexp_reference(N, V, x);
  double total = 0.0;
  std::int64_t count = 0;
  for (std::int64_t r = 0; r < N; ++r) {
    if (targets[r] == kIgnore) continue;
    total += lse[r] - x[r * V + targets[r]];
    ++count;
  }
  return total / static_cast<double>(count);
}

std::vector<std::int64_t> random_targets(std::int64_t N, std::int64_t V, std::uint32_t seed) {
  std::vector<std::int64_t> t(static_cast<std::size_t>(N));
  std::uint32_t state = seed;
  for (auto& v : t) {
    state = state * 1664525u + 1013904223u;
    v = static_cast<std::int64_t>(state >> 8) % V;
  }
  return t;
}

struct Shape {
  std::int64_t N;
  std::int64_t V;
};

TEST(CrossEntropy, ForwardMatchesDoubleReference) {
  for (const Shape s : {Shape{1, 1}, Shape{3, 7}, Shape{5, 16}, Shape{4, 37}, Shape{6, 129}, Shape{17, 1000}}) {
    const auto logits = random_floats(s.N * s.V, 1, -8.0f, 8.0f);
    auto targets = random_targets(s.N, s.V, 2);
    if (s.N > 2) targets[1] = kIgnore;
    std::vector<float> lse(static_cast<std::size_t>(s.N));
    std::int64_t count = -1;
    const float loss = cross_entropy_forward(DType::f32, s.N, s.V, logits.data(), targets.data(), lse.data(), &count);
    const std::string where = "N=" + std::to_string(s.N) + " V=" + std::to_string(s.V);
    const auto lse_ref = logsumexp_reference(s.N, s.V, to_double(logits));
    expect_close(lse, lse_ref, 1e-6, 1e-6, "lse " + where);
    EXPECT_EQ(count, s.N > 2 ? s.N - 1 : s.N) << where;
    const double loss_ref = loss_reference(s.N, s.V, to_double(logits), targets);
    EXPECT_NEAR(loss, loss_ref, 1e-5 * std::max(1.0, std::abs(loss_ref))) << where;
  }
}

TEST(CrossEntropy, LargeLogitsAreStable) {
  // Softmax is shift-invariant; a naive exp would overflow at 1000.
  const std::int64_t N = 3, V = 21;
  auto logits = random_floats(N * V, 3, -4.0f, 4.0f);
  const std::vector<std::int64_t> targets = {0, 20, 7};
  const float base = cross_entropy_forward(DType::f32, N, V, logits.data(), targets.data(), nullptr, nullptr);
  for (float& v : logits) v += 1000.0f;
  const float shifted = cross_entropy_forward(DType::f32, N, V, logits.data(), targets.data(), nullptr, nullptr);
  EXPECT_TRUE(std::isfinite(shifted));
  // Adding 1000 rounds the logits to a 2^-14 grid, which bounds the difference.
  EXPECT_NEAR(base, shifted, 2e-4);
  // lse ~ 1004 is kept in f32 (ulp 6e-5), so the loss carries that absolute rounding.
  EXPECT_NEAR(shifted, loss_reference(N, V, to_double(logits), targets), 1e-4);
}

TEST(CrossEntropy, BackwardMatchesFiniteDifferences) {
  for (const Shape s : {Shape{4, 7}, Shape{3, 37}, Shape{2, 16}}) {
    const auto logits = random_floats(s.N * s.V, 4, -3.0f, 3.0f);
    auto targets = random_targets(s.N, s.V, 5);
    targets[0] = kIgnore;
    std::vector<float> lse(static_cast<std::size_t>(s.N));
    std::int64_t count = 0;
    cross_entropy_forward(DType::f32, s.N, s.V, logits.data(), targets.data(), lse.data(), &count);
    const float dloss = 0.7f;
    std::vector<float> dlogits(logits.size(), 123.0f);  // must be overwritten everywhere
    cross_entropy_backward(DType::f32, s.N, s.V, logits.data(), targets.data(), lse.data(), dloss, count,
                           dlogits.data());
    const auto grad_fd = finite_difference_grad(
        [&](const std::vector<double>& x) { return std::vector<double>{loss_reference(s.N, s.V, x, targets)}; },
        to_double(logits), {static_cast<double>(dloss)});
    const std::string where = "N=" + std::to_string(s.N) + " V=" + std::to_string(s.V);
    expect_close(dlogits, grad_fd, 1e-4, 1e-6 * max_abs(grad_fd), "dlogits " + where);
    for (std::int64_t v = 0; v < s.V; ++v) EXPECT_EQ(dlogits[v], 0.0f) << "ignored row 0 must get zeros";

    std::vector<float> fused(logits.size(), 123.0f);
    cross_entropy_forward_backward(DType::f32, s.N, s.V, logits.data(), targets.data(), dloss, fused.data(), nullptr,
                                   nullptr);
    expect_close(fused, grad_fd, 1e-4, 1e-6 * max_abs(grad_fd), "fused dlogits " + where);
  }
}

// The fused sweep must agree with forward + backward: loss, lse and count bit for bit,
// dlogits to within rounding; in place over the logits too.
TEST(CrossEntropy, FusedForwardBackwardMatchesSeparateCalls) {
  for (const Shape s : {Shape{1, 1}, Shape{5, 16}, Shape{9, 37}, Shape{33, 1000}}) {
    const auto logits = random_floats(s.N * s.V, 12, -8.0f, 8.0f);
    auto targets = random_targets(s.N, s.V, 13);
    if (s.N > 2) targets[2] = kIgnore;
    const float dloss = 1.5f;
    std::vector<float> lse(s.N), dlogits(logits.size());
    std::int64_t count = -1;
    const float loss = cross_entropy_forward(DType::f32, s.N, s.V, logits.data(), targets.data(), lse.data(), &count);
    cross_entropy_backward(DType::f32, s.N, s.V, logits.data(), targets.data(), lse.data(), dloss, count,
                           dlogits.data());

    auto inplace = logits;
    std::vector<float> fused_lse(s.N);
    std::int64_t fused_count = -1;
    const float fused_loss = cross_entropy_forward_backward(DType::f32, s.N, s.V, inplace.data(), targets.data(),
                                                            dloss, inplace.data(), fused_lse.data(), &fused_count);
    const std::string where = "N=" + std::to_string(s.N) + " V=" + std::to_string(s.V);
    EXPECT_EQ(fused_loss, loss) << where;
    EXPECT_EQ(fused_lse, lse) << where;
    EXPECT_EQ(fused_count, count) << where;
    const std::vector<double> expected(dlogits.begin(), dlogits.end());
    expect_close(inplace, expected, 1e-6, 1e-6 * max_abs(expected), "fused in-place dlogits " + where);
  }
}

TEST(CrossEntropy, BackwardInPlace) {
  const std::int64_t N = 5, V = 53;
  auto logits = random_floats(N * V, 6, -5.0f, 5.0f);
  const auto targets = random_targets(N, V, 7);
  std::vector<float> lse(N), dlogits(logits.size());
  std::int64_t count = 0;
  cross_entropy_forward(DType::f32, N, V, logits.data(), targets.data(), lse.data(), &count);
  cross_entropy_backward(DType::f32, N, V, logits.data(), targets.data(), lse.data(), 1.0f, count, dlogits.data());
  cross_entropy_backward(DType::f32, N, V, logits.data(), targets.data(), lse.data(), 1.0f, count, logits.data());
  EXPECT_EQ(logits, dlogits);
}

TEST(CrossEntropy, AllRowsIgnored) {
  const std::int64_t N = 3, V = 5;
  const auto logits = random_floats(N * V, 8);
  const std::vector<std::int64_t> targets(N, kIgnore);
  std::vector<float> lse(N);
  std::int64_t count = -1;
  const float loss = cross_entropy_forward(DType::f32, N, V, logits.data(), targets.data(), lse.data(), &count);
  EXPECT_TRUE(std::isnan(loss));  // 0/0, as PyTorch
  EXPECT_EQ(count, 0);
  std::vector<float> dlogits(logits.size(), 1.0f);
  cross_entropy_backward(DType::f32, N, V, logits.data(), targets.data(), lse.data(), 1.0f, count, dlogits.data());
  EXPECT_EQ(dlogits, std::vector<float>(logits.size(), 0.0f));
  std::vector<float> fused(logits.size(), 1.0f);
  EXPECT_TRUE(std::isnan(cross_entropy_forward_backward(DType::f32, N, V, logits.data(), targets.data(), 1.0f,
                                                        fused.data(), nullptr, &count)));
  EXPECT_EQ(count, 0);
  EXPECT_EQ(fused, std::vector<float>(logits.size(), 0.0f));
}

TEST(CrossEntropy, OutOfRangeTargetIsAnErrorNamingIt) {
  const std::int64_t N = 3, V = 10;
  const auto logits = random_floats(N * V, 9);
  for (std::int64_t bad : {std::int64_t{10}, std::int64_t{-1}, std::int64_t{12345}}) {
    const std::vector<std::int64_t> targets = {1, bad, 2};
    try {
      cross_entropy_forward(DType::f32, N, V, logits.data(), targets.data(), nullptr, nullptr);
      FAIL() << "expected an error for target " << bad;
    } catch (const core::Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("target " + std::to_string(bad)), std::string::npos) << message;
      EXPECT_NE(message.find("V=10"), std::string::npos) << message;
    }
    std::vector<float> lse(N), dlogits(logits.size());
    EXPECT_THROW(cross_entropy_backward(DType::f32, N, V, logits.data(), targets.data(), lse.data(), 1.0f, 2,
                                        dlogits.data()),
                 core::Error);
    EXPECT_THROW(cross_entropy_forward_backward(DType::f32, N, V, logits.data(), targets.data(), 1.0f, dlogits.data(),
                                                nullptr, nullptr),
                 core::Error);
  }
}

TEST(CrossEntropy, LossIndependentOfThreadCount) {
  const std::int64_t N = 64, V = 300;
  const auto logits = random_floats(N * V, 10, -6.0f, 6.0f);
  const auto targets = random_targets(N, V, 11);
  const int threads = core::num_threads();
  std::vector<float> losses;
  for (int t : {1, 2, 3}) {
    core::set_num_threads(t);
    losses.push_back(cross_entropy_forward(DType::f32, N, V, logits.data(), targets.data(), nullptr, nullptr));
  }
  core::set_num_threads(threads);
  EXPECT_EQ(losses[0], losses[1]);
  EXPECT_EQ(losses[0], losses[2]);
}

TEST(CrossEntropy, UnsupportedDtypeNamesIt) {
  std::vector<float> logits(8, 0.0f);
  const std::vector<std::int64_t> targets = {0, 1};
  try {
    cross_entropy_forward(DType::bf16, 2, 4, logits.data(), targets.data(), nullptr, nullptr);
    FAIL() << "expected an error";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bf16"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sieve::kernels::cpu
