// Elementwise arithmetic with broadcasting, unary maps and reductions: values vs double
// references, gradients by finite differences (including broadcast reductions), shape errors.
#include "sieve/ops/arithmetic.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "gradcheck.h"
#include "sieve/autograd/grad_mode.h"

namespace sieve::ops {
namespace {

using testing::gradcheck;
using testing::requires_grad;
using testing::uniform_tensor;

using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);

// Element (i, j, k) of a broadcast operand: missing/size-1 dims read index 0.
double at_broadcast(const Tensor& t, const std::vector<float>& v, const core::Shape& out, std::int64_t flat) {
  const core::Shape& shape = t.shape();
  const std::size_t lead = out.size() - shape.size();
  std::int64_t index = 0, stride = 1, rest = flat;
  std::vector<std::int64_t> coords(out.size());
  for (std::size_t d = out.size(); d-- > 0;) {
    coords[d] = rest % out[d];
    rest /= out[d];
  }
  for (std::size_t d = shape.size(); d-- > 0;) {
    const std::int64_t c = shape[d] == 1 ? 0 : coords[lead + d];
    index += c * stride;
    stride *= shape[d];
  }
  return v[static_cast<std::size_t>(index)];
}

void check_binary(BinaryFn f, double (*ref)(double, double), const Tensor& a, const Tensor& b,
                  const core::Shape& expected_shape) {
  const Tensor out = f(a, b);
  ASSERT_EQ(out.shape(), expected_shape);
  const auto ov = out.to_vector();
  const auto av = a.contiguous().to_vector(), bv = b.contiguous().to_vector();
  for (std::int64_t i = 0; i < out.numel(); ++i) {
    const double expected = ref(at_broadcast(a, av, expected_shape, i), at_broadcast(b, bv, expected_shape, i));
    ASSERT_NEAR(ov[i], expected, 1e-5 * (1 + std::abs(expected))) << i;
  }
}

struct BinaryCase {
  const char* name;
  BinaryFn f;
  double (*ref)(double, double);
};

const BinaryCase kBinary[] = {
    {"add", add, [](double x, double y) { return x + y; }},
    {"sub", sub, [](double x, double y) { return x - y; }},
    {"mul", mul, [](double x, double y) { return x * y; }},
    {"div", div, [](double x, double y) { return x / y; }},
};

TEST(Binary, SameShapeAndBroadcastValues) {
  for (const auto& c : kBinary) {
    SCOPED_TRACE(c.name);
    // b in [0.5, 1.5] keeps div well conditioned.
    check_binary(c.f, c.ref, uniform_tensor({3, 4}, 1), uniform_tensor({3, 4}, 2, 0.5f, 1.5f), {3, 4});
    check_binary(c.f, c.ref, uniform_tensor({2, 3, 4}, 3), uniform_tensor({4}, 4, 0.5f, 1.5f), {2, 3, 4});
    check_binary(c.f, c.ref, uniform_tensor({2, 1, 4}, 5), uniform_tensor({3, 1}, 6, 0.5f, 1.5f), {2, 3, 4});
    check_binary(c.f, c.ref, uniform_tensor({1}, 7), uniform_tensor({5, 2}, 8, 0.5f, 1.5f), {5, 2});
    check_binary(c.f, c.ref, uniform_tensor({4, 3}, 9).transpose(0, 1), uniform_tensor({3, 1}, 10, 0.5f, 1.5f), {3, 4});
  }
}

TEST(Binary, Gradients) {
  for (const auto& c : kBinary) {
    SCOPED_TRACE(c.name);
    const BinaryFn f = c.f;
    auto fn = [f](const std::vector<Tensor>& in) { return f(in[0], in[1]); };
    EXPECT_TRUE(gradcheck(fn, {requires_grad(uniform_tensor({3, 4}, 11)),
                               requires_grad(uniform_tensor({3, 4}, 12, 0.5f, 1.5f))}));
    // Broadcast on both sides: the gradients must be summed back to each input's shape.
    EXPECT_TRUE(gradcheck(fn, {requires_grad(uniform_tensor({2, 1, 4}, 13)),
                               requires_grad(uniform_tensor({3, 1}, 14, 0.5f, 1.5f))}));
    EXPECT_TRUE(gradcheck(fn, {uniform_tensor({2, 3}, 15), requires_grad(uniform_tensor({3}, 16, 0.5f, 1.5f))}));
    EXPECT_TRUE(gradcheck(fn, {requires_grad(uniform_tensor({2, 3}, 17)), uniform_tensor({}, 18, 0.5f, 1.5f)}));
  }
}

TEST(Binary, MismatchedShapesAreErrorsNamingThem) {
  try {
    add(uniform_tensor({2, 3}, 1), uniform_tensor({4, 3}, 2));
    FAIL() << "[2, 3] + [4, 3] accepted";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[4, 3]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(mul(uniform_tensor({3}, 1), uniform_tensor({2}, 2)), core::Error);
  EXPECT_THROW(add(uniform_tensor({3}, 1), Tensor::zeros({3}, core::DType::i32)), core::Error);
}

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> f;
  double (*ref)(double);
  float lo, hi;
};

const UnaryCase kUnary[] = {
    {"scale", [](const Tensor& x) { return scale(x, -2.5f); }, [](double x) { return -2.5 * x; }, -2, 2},
    {"add_scalar", [](const Tensor& x) { return add_scalar(x, 0.75f); }, [](double x) { return x + 0.75; }, -2, 2},
    {"neg", [](const Tensor& x) { return neg(x); }, [](double x) { return -x; }, -2, 2},
    {"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, -2, 2},
    {"log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, 0.5f, 3},
    {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, 0.5f, 3},
    {"tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, -2, 2},
    {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, [](double x) { return 1 / (1 + std::exp(-x)); }, -3, 3},
    {"square", [](const Tensor& x) { return square(x); }, [](double x) { return x * x; }, -2, 2},
};

TEST(Unary, Values) {
  for (const auto& c : kUnary) {
    SCOPED_TRACE(c.name);
    const Tensor x = uniform_tensor({5, 7}, 20, c.lo, c.hi);
    for (const Tensor& input : {x, x.transpose(0, 1)}) {
      const Tensor out = c.f(input);
      ASSERT_EQ(out.shape(), input.shape());
      const auto ov = out.to_vector(), xv = input.to_vector();
      for (std::size_t i = 0; i < ov.size(); ++i)
        ASSERT_NEAR(ov[i], c.ref(xv[i]), 1e-5 * (1 + std::abs(c.ref(xv[i])))) << i;
    }
  }
}

TEST(Unary, Gradients) {
  for (const auto& c : kUnary) {
    SCOPED_TRACE(c.name);
    const auto f = c.f;
    EXPECT_TRUE(gradcheck([f](const std::vector<Tensor>& in) { return f(in[0]); },
                          {requires_grad(uniform_tensor({3, 4}, 21, c.lo, c.hi))}));
  }
}

TEST(Reduce, SumAndMeanOfAll) {
  const Tensor x = uniform_tensor({3, 5, 7}, 30);
  double total = 0.0;
  for (float v : x.to_vector()) total += v;
  const Tensor s = sum(x);
  EXPECT_TRUE(s.shape().empty());
  EXPECT_NEAR(s.item(), total, 1e-4);
  EXPECT_NEAR(mean(x).item(), total / 105.0, 1e-6);
  EXPECT_NEAR(sum(x.transpose(0, 2)).item(), total, 1e-4);
}

TEST(Reduce, SumOverDimension) {
  const core::Shape shape{3, 4, 5};
  const Tensor x = uniform_tensor(shape, 31);
  const auto xv = x.to_vector();
  for (std::int64_t d = 0; d < 3; ++d) {
    for (bool keep : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "d=" << d << " keep=" << keep);
      const Tensor s = sum(x, d, keep);
      core::Shape expected_shape = shape;
      if (keep) {
        expected_shape[d] = 1;
      } else {
        expected_shape.erase(expected_shape.begin() + d);
      }
      ASSERT_EQ(s.shape(), expected_shape);
      const auto sv = s.to_vector();
      std::vector<double> ref(sv.size(), 0.0);
      for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t j = 0; j < 4; ++j)
          for (std::int64_t k = 0; k < 5; ++k) {
            const std::int64_t idx[3] = {i, j, k};
            std::int64_t out = 0;
            for (std::int64_t e = 0; e < 3; ++e)
              if (e != d) out = out * shape[e] + idx[e];
            ref[out] += xv[(i * 4 + j) * 5 + k];
          }
      for (std::size_t i = 0; i < sv.size(); ++i) ASSERT_NEAR(sv[i], ref[i], 1e-5) << i;
    }
  }
  EXPECT_EQ(sum(x, -1).shape(), (core::Shape{3, 4}));
  EXPECT_THROW(sum(x, 3), core::Error);
}

TEST(Reduce, Gradients) {
  const Tensor x = requires_grad(uniform_tensor({3, 4, 2}, 32));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return sum(in[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return mean(in[0]); }, {x}));
  for (std::int64_t d = 0; d < 3; ++d) {
    SCOPED_TRACE(d);
    EXPECT_TRUE(gradcheck([d](const std::vector<Tensor>& in) { return sum(in[0], d); }, {x}));
    EXPECT_TRUE(gradcheck([d](const std::vector<Tensor>& in) { return sum(in[0], d, true); }, {x}));
  }
}

TEST(ReduceToShape, SumsBroadcastDimensions) {
  const Tensor g = uniform_tensor({2, 3, 4}, 40);
  const auto gv = g.to_vector();
  const Tensor r = reduce_to_shape(g, {3, 1});
  ASSERT_EQ(r.shape(), (core::Shape{3, 1}));
  for (std::int64_t j = 0; j < 3; ++j) {
    double expected = 0.0;
    for (std::int64_t i = 0; i < 2; ++i)
      for (std::int64_t k = 0; k < 4; ++k) expected += gv[(i * 3 + j) * 4 + k];
    EXPECT_NEAR(r.to_vector()[j], expected, 1e-5);
  }
  EXPECT_EQ(reduce_to_shape(g, {2, 3, 4}).to_vector(), gv);
  EXPECT_NEAR(reduce_to_shape(g, {}).item(), sum(g).item(), 1e-5);
  EXPECT_THROW(reduce_to_shape(g, {5}), core::Error);
  EXPECT_THROW(reduce_to_shape(g, {1, 2, 3, 4}), core::Error);
}

TEST(ReduceToShape, Gradient) {
  const Tensor g = requires_grad(uniform_tensor({2, 3, 4}, 41));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return reduce_to_shape(in[0], {1, 3, 1}); }, {g}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return reduce_to_shape(in[0], {4}); }, {g}));
}

TEST(Arithmetic, LargeShapesUseTheThreadedPaths) {
  // Big enough for the kernels to split work across threads and to take their vector paths.
  const Tensor a = uniform_tensor({300, 257}, 60), b = uniform_tensor({257}, 61), c = uniform_tensor({300, 1}, 62);
  check_binary(add, [](double x, double y) { return x + y; }, a, b, {300, 257});
  check_binary(mul, [](double x, double y) { return x * y; }, a.transpose(0, 1), c.transpose(0, 1), {257, 300});
  const auto av = a.to_vector();
  const auto rows = sum(a, 0).to_vector(), cols = sum(a, 1).to_vector();
  for (std::int64_t j = 0; j < 257; ++j) {
    double expected = 0.0;
    for (std::int64_t i = 0; i < 300; ++i) expected += av[i * 257 + j];
    ASSERT_NEAR(rows[j], expected, 1e-4) << j;
  }
  for (std::int64_t i = 0; i < 300; ++i) {
    double expected = 0.0;
    for (std::int64_t j = 0; j < 257; ++j) expected += av[i * 257 + j];
    ASSERT_NEAR(cols[i], expected, 1e-4) << i;
  }
  // A middle dimension with a short inner extent (the transpose-then-reduce path).
  const Tensor x = uniform_tensor({40, 30, 3}, 63);
  const auto xv = x.to_vector(), mid = sum(x, 1).to_vector();
  for (std::int64_t o = 0; o < 40; ++o)
    for (std::int64_t i = 0; i < 3; ++i) {
      double expected = 0.0;
      for (std::int64_t l = 0; l < 30; ++l) expected += xv[(o * 30 + l) * 3 + i];
      ASSERT_NEAR(mid[o * 3 + i], expected, 1e-5) << o << "," << i;
    }
}

TEST(Arithmetic, EmptyTensors) {
  const Tensor e = Tensor::zeros({0, 3});
  EXPECT_EQ(add(e, uniform_tensor({3}, 1)).shape(), (core::Shape{0, 3}));
  EXPECT_EQ(exp(e).numel(), 0);
  EXPECT_EQ(sum(e).item(), 0.0);
  EXPECT_EQ(sum(e, 0).to_vector(), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(sum(e, 1).shape(), (core::Shape{0}));
}

TEST(Arithmetic, NoGraphUnderNoGrad) {
  const Tensor x = requires_grad(uniform_tensor({3}, 50));
  autograd::NoGradGuard guard;
  EXPECT_EQ(add(x, x).grad_fn(), nullptr);
  EXPECT_EQ(sum(exp(x)).grad_fn(), nullptr);
}

}  // namespace
}  // namespace sieve::ops
