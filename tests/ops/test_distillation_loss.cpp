// distillation_kl and distillation_loss: values against a double-precision reference at T = 1 and
// T = 4 (rows long enough for the vector loops and their tails), gradients against central
// differences of that reference in double, α = 0 as cross_entropy bit for bit, and errors.
// Letters: N rows, V vocabulary.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <vector>

#include "gradcheck.h"
#include "sieve/autograd/engine.h"
#include "sieve/ops/loss.h"

namespace sieve::ops {
namespace {

using testing::requires_grad;
using testing::uniform_tensor;

// log softmax(x / T) of one row, in double.
std::vector<double> log_softmax(const double* x, std::int64_t V, double T) {
  double m = -INFINITY, s = 0.0;
  for (std::int64_t v = 0; v < V; ++v) m = std::max(m, x[v] / T);
  for (std::int64_t v = 0; v < V; ++v) s += std::exp(x[v] / T - m);
  std::vector<double> out(static_cast<std::size_t>(V));
  for (std::int64_t v = 0; v < V; ++v) out[v] = x[v] / T - m - std::log(s);
  return out;
}

// α·T²·mean_r KL(p_t ‖ p_s) + (1 − α)·mean_r CE(s, target), all in double.
double reference(const std::vector<double>& s, const std::vector<double>& t, const std::vector<std::int64_t>& targets,
                 std::int64_t V, double alpha, double T) {
  const auto N = static_cast<std::int64_t>(targets.size());
  double kl = 0.0, ce = 0.0;
  for (std::int64_t r = 0; r < N; ++r) {
    const std::vector<double> ls = log_softmax(s.data() + r * V, V, T), lt = log_softmax(t.data() + r * V, V, T);
    for (std::int64_t v = 0; v < V; ++v) kl += std::exp(lt[v]) * (lt[v] - ls[v]);
    ce -= log_softmax(s.data() + r * V, V, 1.0)[targets[r]];
  }
  return alpha * T * T * kl / N + (1.0 - alpha) * ce / N;
}

std::vector<double> doubles(const Tensor& x) {
  const std::vector<float> v = x.to_vector();
  return {v.begin(), v.end()};
}

Tensor ids(const std::vector<std::int64_t>& values) {
  return Tensor::from_vector(values, {static_cast<std::int64_t>(values.size())});
}

std::vector<std::int64_t> some_targets(std::int64_t N, std::int64_t V) {
  std::vector<std::int64_t> t;
  for (std::int64_t r = 0; r < N; ++r) t.push_back((r * 7919 + 3) % V);
  return t;
}

struct Case {
  std::int64_t N, V;
  float T;
};

// gtest would otherwise print the struct's bytes, padding included.
void PrintTo(const Case& c, std::ostream* os) { *os << "N=" << c.N << " V=" << c.V << " T=" << c.T; }

class DistillationLossCases : public ::testing::TestWithParam<Case> {};

TEST_P(DistillationLossCases, KlMatchesReference) {
  const auto [N, V, T] = GetParam();
  const Tensor s = uniform_tensor({N, V}, 1, -5.0f, 5.0f), t = uniform_tensor({N, V}, 2, -5.0f, 5.0f);
  const double expected = reference(doubles(s), doubles(t), some_targets(N, V), V, 1.0, T) / (double(T) * T);
  const double got = distillation_kl(s, t, T).item();
  EXPECT_GT(expected, 0.01);
  EXPECT_NEAR(got, expected, 2e-5 * expected + 1e-6);
}

TEST_P(DistillationLossCases, LossMatchesReference) {
  const auto [N, V, T] = GetParam();
  const Tensor s = uniform_tensor({N, V}, 3, -5.0f, 5.0f), t = uniform_tensor({N, V}, 4, -5.0f, 5.0f);
  const std::vector<std::int64_t> targets = some_targets(N, V);
  for (const float alpha : {0.0f, 0.3f, 1.0f}) {
    DistillationParts parts;
    const double got = distillation_loss(s, t, ids(targets), alpha, T, &parts).item();
    const double expected = reference(doubles(s), doubles(t), targets, V, alpha, T);
    EXPECT_NEAR(got, expected, 2e-5 * expected) << "alpha " << alpha;
    EXPECT_EQ(std::isnan(parts.kl), alpha == 0.0f);
    EXPECT_EQ(std::isnan(parts.cross_entropy), alpha == 1.0f);
  }
}

// The f32 gradient of the op against central differences of the double reference.
TEST_P(DistillationLossCases, GradientMatchesDoubleFiniteDifferences) {
  const auto [N, V, T] = GetParam();
  const float alpha = 0.3f;
  const Tensor s = requires_grad(uniform_tensor({N, V}, 5, -3.0f, 3.0f));
  const Tensor t = uniform_tensor({N, V}, 6, -3.0f, 3.0f);
  const std::vector<std::int64_t> targets = some_targets(N, V);
  autograd::backward(distillation_loss(s, t, ids(targets), alpha, T));
  const std::vector<float> grad = s.grad().to_vector();
  std::vector<double> x = doubles(s);
  const std::vector<double> teacher = doubles(t);
  const double eps = 1e-5;
  double max_grad = 0.0;
  for (const float g : grad) max_grad = std::max(max_grad, double(std::abs(g)));
  for (std::int64_t i = 0; i < N * V; i += std::max<std::int64_t>(1, N * V / 97)) {
    const double saved = x[i];
    x[i] = saved + eps;
    const double up = reference(x, teacher, targets, V, alpha, T);
    x[i] = saved - eps;
    const double down = reference(x, teacher, targets, V, alpha, T);
    x[i] = saved;
    EXPECT_NEAR(grad[i], (up - down) / (2 * eps), 1e-6 + 1e-4 * max_grad) << "element " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Temperatures, DistillationLossCases,
                         ::testing::Values(Case{5, 37, 1.0f}, Case{5, 37, 4.0f}, Case{3, 1000, 1.0f},
                                           Case{3, 1000, 4.0f}));

TEST(DistillationKl, GradcheckThroughTheOp) {
  const Tensor s = requires_grad(uniform_tensor({4, 19}, 7, -2.0f, 2.0f));
  const Tensor t = uniform_tensor({4, 19}, 8, -2.0f, 2.0f);
  EXPECT_TRUE(testing::gradcheck([&](const std::vector<Tensor>& in) { return distillation_kl(in[0], t, 2.0f); }, {s}));
}

TEST(DistillationKl, EqualDistributionsGiveZero) {
  const Tensor s = uniform_tensor({8, 300}, 9, -6.0f, 6.0f);
  // A constant shift per row leaves softmax unchanged.
  std::vector<float> shifted = s.to_vector();
  for (std::size_t i = 0; i < shifted.size(); ++i) shifted[i] += 3.0f * static_cast<float>(i / 300);
  EXPECT_NEAR(distillation_kl(s, Tensor::from_vector(shifted, {8, 300}), 1.5f).item(), 0.0, 1e-6);
}

TEST(DistillationLoss, AlphaZeroIsCrossEntropyBitForBit) {
  const Tensor t = uniform_tensor({6, 50}, 10, -3.0f, 3.0f);
  const Tensor targets = ids(some_targets(6, 50));
  const Tensor a = requires_grad(uniform_tensor({6, 50}, 11, -3.0f, 3.0f));
  const Tensor b = requires_grad(uniform_tensor({6, 50}, 11, -3.0f, 3.0f));
  const Tensor la = distillation_loss(a, t, targets, 0.0f, 4.0f), lb = cross_entropy(b, targets);
  EXPECT_EQ(la.item(), lb.item());
  autograd::backward(la);
  autograd::backward(lb);
  EXPECT_EQ(a.grad().to_vector(), b.grad().to_vector());
}

TEST(DistillationLoss, RejectsBadInput) {
  const Tensor s = uniform_tensor({2, 5}, 12);
  const Tensor targets = ids({0, 1});
  EXPECT_THROW(distillation_kl(s, requires_grad(uniform_tensor({2, 5}, 13)), 1.0f), core::Error);
  EXPECT_THROW(distillation_kl(s, uniform_tensor({2, 6}, 13), 1.0f), core::Error);
  EXPECT_THROW(distillation_kl(s, uniform_tensor({2, 5}, 13), 0.0f), core::Error);
  EXPECT_THROW(distillation_loss(s, uniform_tensor({2, 5}, 13), targets, 1.5f, 1.0f), core::Error);
}

}  // namespace
}  // namespace sieve::ops
