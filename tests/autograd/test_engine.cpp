// The autograd engine through real ops: accumulation, grad mode, shared inputs, graph release,
// and ordering on graphs where a node receives gradient from paths of different lengths.
#include "sieve/autograd/engine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "sieve/autograd/grad_mode.h"
#include "sieve/autograd/node.h"
#include "sieve/core/error.h"
#include "sieve/ops/arithmetic.h"

namespace sieve::autograd {
namespace {

using core::Tensor;

Tensor leaf(const std::vector<float>& values) {
  Tensor t = Tensor::from_vector(values, {static_cast<std::int64_t>(values.size())});
  t.set_requires_grad(true);
  return t;
}

void expect_values(const Tensor& t, const std::vector<double>& expected, double tol = 1e-5) {
  ASSERT_TRUE(t.defined());
  const std::vector<float> got = t.to_vector();
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], expected[i], tol * (1.0 + std::abs(expected[i]))) << "at " << i;
}

TEST(Engine, GradientsAccumulateAcrossBackwardCalls) {
  const std::vector<float> xs{0.5f, -1.0f, 2.0f};
  Tensor x = leaf(xs);
  for (int pass = 0; pass < 2; ++pass) {
    Tensor loss = ops::sum(ops::mul(x, x));
    backward(loss);
  }
  expect_values(x.grad(), {4.0 * xs[0], 4.0 * xs[1], 4.0 * xs[2]});
  x.zero_grad();
  backward(ops::sum(ops::mul(x, x)));
  expect_values(x.grad(), {2.0 * xs[0], 2.0 * xs[1], 2.0 * xs[2]});
}

TEST(Engine, NoGradGuardRecordsNothing) {
  Tensor x = leaf({1.0f, 2.0f});
  {
    NoGradGuard guard;
    EXPECT_FALSE(grad_enabled());
    Tensor y = ops::exp(ops::mul(x, x));
    EXPECT_EQ(y.grad_fn(), nullptr);
    EXPECT_FALSE(y.requires_grad());
    {
      EnableGradGuard enable;
      Tensor z = ops::mul(x, x);
      EXPECT_NE(z.grad_fn(), nullptr);
      EXPECT_TRUE(z.requires_grad());
    }
    EXPECT_FALSE(grad_enabled());
  }
  EXPECT_TRUE(grad_enabled());
  Tensor y = ops::mul(x, x);
  EXPECT_NE(y.grad_fn(), nullptr);
  EXPECT_TRUE(y.requires_grad());
}

TEST(Engine, InputsWithoutRequiresGradRecordNothing) {
  Tensor a = Tensor::from_vector(std::vector<float>{1.0f, 2.0f}, {2});
  Tensor b = Tensor::from_vector(std::vector<float>{3.0f, 4.0f}, {2});
  Tensor y = ops::mul(a, b);
  EXPECT_EQ(y.grad_fn(), nullptr);
  EXPECT_FALSE(y.requires_grad());
}

TEST(Engine, DiamondSumsBothPaths) {
  // loss = Σ 2x · eˣ: x feeds two branches that meet again in mul.
  const std::vector<float> xs{0.3f, -0.7f, 1.1f};
  Tensor x = leaf(xs);
  Tensor loss = ops::sum(ops::mul(ops::scale(x, 2.0f), ops::exp(x)));
  backward(loss);
  std::vector<double> expected;
  for (float v : xs) expected.push_back(2.0 * std::exp(v) + 2.0 * v * std::exp(v));
  expect_values(x.grad(), expected);
}

TEST(Engine, DiamondOnNonLeafNode) {
  // h = eˣ is an interior node used by two branches: loss = Σ (3h + h²); dloss/dx = (3 + 2h)·h.
  const std::vector<float> xs{0.2f, -0.4f};
  Tensor x = leaf(xs);
  Tensor h = ops::exp(x);
  Tensor loss = ops::sum(ops::add(ops::scale(h, 3.0f), ops::square(h)));
  backward(loss);
  std::vector<double> expected;
  for (float v : xs) expected.push_back((3.0 + 2.0 * std::exp(v)) * std::exp(v));
  expect_values(x.grad(), expected);
}

TEST(Engine, SameTensorTwiceInOneOp) {
  const std::vector<float> xs{1.5f, -2.0f};
  Tensor x = leaf(xs);
  backward(ops::sum(ops::add(x, x)));
  expect_values(x.grad(), {2.0, 2.0});
}

TEST(Engine, SecondBackwardWithoutRetainGraphFails) {
  Tensor x = leaf({0.1f, 0.2f});
  Tensor loss = ops::sum(ops::exp(x));
  backward(loss);
  EXPECT_THROW(backward(loss), core::Error);
}

TEST(Engine, RetainGraphAllowsSecondBackward) {
  const std::vector<float> xs{0.1f, 0.2f};
  Tensor x = leaf(xs);
  Tensor loss = ops::sum(ops::exp(x));
  backward(loss, {}, BackwardOptions{.retain_graph = true});
  backward(loss);
  expect_values(x.grad(), {2.0 * std::exp(0.1), 2.0 * std::exp(0.2)});
}

TEST(Engine, DeepChainWithSkipConnectionRunsInReverseTopologicalOrder) {
  // h = tanh(x); a long path p = f5(...f1(h)) and a skip path meet at the end:
  // loss = Σ (p + 0.5·h). If h's node ran before the long path delivered its gradient, the
  // skip contribution alone would reach x.
  const std::vector<float> xs{0.3f, -0.5f, 0.8f};
  Tensor x = leaf(xs);
  Tensor h = ops::tanh(x);
  Tensor p = h;
  for (int i = 0; i < 5; ++i) p = ops::add_scalar(ops::scale(ops::sigmoid(p), 1.5f), -0.25f);
  Tensor loss = ops::sum(ops::add(p, ops::scale(h, 0.5f)));
  backward(loss);

  std::vector<double> expected;
  for (float xv : xs) {
    const double hv = std::tanh(static_cast<double>(xv));
    double value = hv, dp_dh = 1.0;
    for (int i = 0; i < 5; ++i) {
      const double s = 1.0 / (1.0 + std::exp(-value));
      dp_dh *= 1.5 * s * (1.0 - s);
      value = 1.5 * s - 0.25;
    }
    expected.push_back((dp_dh + 0.5) * (1.0 - hv * hv));
  }
  expect_values(x.grad(), expected, 1e-4);
}

TEST(Engine, LeafThatDoesNotRequireGradGetsNone) {
  Tensor x = leaf({1.0f, 2.0f});
  Tensor c = Tensor::from_vector(std::vector<float>{3.0f, 4.0f}, {2});
  backward(ops::sum(ops::mul(x, c)));
  expect_values(x.grad(), {3.0, 4.0});
  EXPECT_FALSE(c.grad().defined());
}

TEST(Engine, BackwardOnTensorWithoutGradIsAnError) {
  Tensor c = Tensor::from_vector(std::vector<float>{3.0f}, {1});
  EXPECT_THROW(backward(c), core::Error);
}

TEST(Engine, GraphFreesSavedTensorsWhenOutputDies) {
  // The graph holds only detached saved tensors: when the output handle dies, nothing keeps the
  // node alive (no reference cycle through grad_fn).
  Tensor x = leaf({1.0f, 2.0f});
  std::weak_ptr<Node> node;
  {
    Tensor y = ops::exp(ops::mul(x, x));
    node = y.grad_fn();
    EXPECT_FALSE(node.expired());
  }
  EXPECT_TRUE(node.expired());
}

}  // namespace
}  // namespace sieve::autograd
