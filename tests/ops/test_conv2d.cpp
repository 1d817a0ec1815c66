// conv2d (channels last): values vs a naive double loop, gradients by finite differences, a
// golden check of values and gradients against PyTorch's conv2d (tests/fixtures/multimodal_ops/conv2d.safetensors from
// scripts/make_op_fixtures.py), the patch embedding = linear(patchify) identity, and errors.
// Letters: B batch, H W input size, Ci Co channels, KH KW kernel, Ho Wo output size.
#include "sieve/ops/conv2d.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "close_tensors.h"
#include "fixture_tensors.h"
#include "gradcheck.h"
#include "sieve/autograd/engine.h"
#include "sieve/core/error.h"
#include "sieve/ops/linear.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::ops {
namespace {

using testing::gradcheck;
using testing::requires_grad;
using testing::uniform_tensor;

// x [B, H, W, Ci], weight [Co, KH, KW, Ci], bias [Co] or undefined → [B, Ho, Wo, Co] in double.
std::vector<double> conv_reference(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& o) {
  const auto xv = x.to_vector(), wv = weight.to_vector();
  const auto bv = bias.defined() ? bias.to_vector() : std::vector<float>();
  const std::int64_t B = x.size(0), H = x.size(1), W = x.size(2), Ci = x.size(3);
  const std::int64_t Co = weight.size(0), KH = weight.size(1), KW = weight.size(2);
  const std::int64_t Ho = (H + 2 * o.pad_h - KH) / o.stride_h + 1, Wo = (W + 2 * o.pad_w - KW) / o.stride_w + 1;
  std::vector<double> out(static_cast<std::size_t>(B * Ho * Wo * Co));
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t oy = 0; oy < Ho; ++oy)
      for (std::int64_t ox = 0; ox < Wo; ++ox)
        for (std::int64_t co = 0; co < Co; ++co) {
          double sum = bv.empty() ? 0.0 : bv[co];
          for (std::int64_t ky = 0; ky < KH; ++ky)
            for (std::int64_t kx = 0; kx < KW; ++kx) {
              const std::int64_t iy = oy * o.stride_h - o.pad_h + ky, ix = ox * o.stride_w - o.pad_w + kx;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              for (std::int64_t ci = 0; ci < Ci; ++ci)
                sum += double(xv[((b * H + iy) * W + ix) * Ci + ci]) * wv[((co * KH + ky) * KW + kx) * Ci + ci];
            }
          out[((b * Ho + oy) * Wo + ox) * Co + co] = sum;
        }
  return out;
}

void expect_near_all(const Tensor& got, const std::vector<double>& want, double tol) {
  const auto g = got.to_vector();
  ASSERT_EQ(g.size(), want.size());
  for (std::size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], want[i], tol * (1.0 + std::abs(want[i]))) << i;
}

struct Config {
  const char* name;
  core::Shape x, weight;
  Conv2dOptions options;
  bool bias;
};

TEST(Conv2d, MatchesReference) {
  const std::vector<Config> configs = {
      {"3x3 same", {2, 7, 6, 3}, {4, 3, 3, 3}, {1, 1, 1, 1}, true},
      {"3x3 stride 2", {2, 9, 8, 1}, {5, 3, 3, 1}, {2, 2, 1, 1}, false},
      {"patch 4", {3, 8, 12, 1}, {6, 4, 4, 1}, {4, 4, 0, 0}, true},
      {"1x1 (no copy)", {2, 5, 4, 6}, {3, 1, 1, 6}, {1, 1, 0, 0}, true},
      {"1x1 stride 2", {2, 5, 4, 6}, {3, 1, 1, 6}, {2, 2, 0, 0}, false},
      {"kernel = padded input", {1, 3, 2, 2}, {2, 5, 4, 2}, {1, 1, 1, 1}, true},
      {"uneven", {2, 11, 7, 4}, {3, 5, 3, 4}, {2, 1, 2, 1}, true},
  };
  for (const Config& c : configs) {
    SCOPED_TRACE(c.name);
    const Tensor x = uniform_tensor(c.x, 1), weight = uniform_tensor(c.weight, 2);
    const Tensor bias = c.bias ? uniform_tensor({c.weight[0]}, 3) : Tensor();
    const Tensor out = conv2d(x, weight, bias, c.options);
    expect_near_all(out, conv_reference(x, weight, bias, c.options), 1e-5);
  }
}

TEST(Conv2d, Gradients) {
  const std::vector<Config> configs = {
      {"3x3 stride 2 padding 1", {2, 5, 6, 2}, {3, 3, 3, 2}, {2, 2, 1, 1}, true},
      {"uneven", {1, 6, 5, 3}, {2, 3, 2, 3}, {2, 1, 1, 0}, true},
      {"patch 2", {2, 4, 4, 1}, {3, 2, 2, 1}, {2, 2, 0, 0}, false},
      {"1x1", {2, 3, 3, 4}, {2, 1, 1, 4}, {1, 1, 0, 0}, true},
  };
  for (const Config& c : configs) {
    SCOPED_TRACE(c.name);
    const Tensor x = requires_grad(uniform_tensor(c.x, 7)), weight = requires_grad(uniform_tensor(c.weight, 8));
    const Tensor bias = c.bias ? requires_grad(uniform_tensor({c.weight[0]}, 9)) : Tensor();
    const Conv2dOptions o = c.options;
    EXPECT_TRUE(gradcheck([o](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], o); },
                          {x, weight, bias}));
  }
}

TEST(Conv2d, GradientForInputOnly) {
  const Tensor x = requires_grad(uniform_tensor({1, 5, 5, 2}, 10));
  const Tensor weight = uniform_tensor({2, 3, 3, 2}, 11);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], Tensor(), 2, 1); },
                        {x, weight}));
}

// PyTorch's F.conv2d in float64 on the same f32 inputs: values and gradients of
// sum(out · grad_output), for several kernels, strides and paddings, with and without bias.
TEST(Conv2d, MatchesPyTorch) {
  const auto fixture = testing::read_fixture_tensors(std::filesystem::path(SIEVE_FIXTURE_DIR) / "multimodal_ops" /
                                                     "conv2d.safetensors");
  int cases = 0;
  for (const auto& [key, options_tensor] : fixture) {
    if (key.size() < 8 || key.substr(key.size() - 8) != ".options") continue;
    const std::string name = key.substr(0, key.size() - 8);
    SCOPED_TRACE(name);
    ++cases;
    const auto o = options_tensor.to_vector();  // stride_h, stride_w, pad_h, pad_w
    const Conv2dOptions options{std::int64_t(o[0]), std::int64_t(o[1]), std::int64_t(o[2]), std::int64_t(o[3])};
    const Tensor x = requires_grad(fixture.at(name + ".x").clone());
    const Tensor weight = requires_grad(fixture.at(name + ".weight").clone());
    const bool has_bias = fixture.count(name + ".bias") != 0;
    const Tensor bias = has_bias ? requires_grad(fixture.at(name + ".bias").clone()) : Tensor();
    const Tensor out = conv2d(x, weight, bias, options);
    testing::expect_close(out, fixture.at(name + ".out"), 1e-5, 1e-5, "out");
    autograd::backward(out, fixture.at(name + ".grad_output"));
    testing::expect_close(x.grad(), fixture.at(name + ".grad.x"), 1e-5, 1e-5, "grad.x");
    testing::expect_close(weight.grad(), fixture.at(name + ".grad.weight"), 1e-5, 1e-5, "grad.weight");
    if (has_bias) testing::expect_close(bias.grad(), fixture.at(name + ".grad.bias"), 1e-5, 1e-5, "grad.bias");
  }
  EXPECT_EQ(cases, 6);
}

TEST(Conv2d, PatchEmbeddingIsLinearOfPatchify) {
  const std::int64_t B = 2, H = 8, W = 12, C = 3, p = 4, Co = 5;
  const Tensor x = uniform_tensor({B, H, W, C}, 12), weight = uniform_tensor({Co, p, p, C}, 13);
  const Tensor bias = uniform_tensor({Co}, 14);
  const Tensor tokens = reshape(conv2d(x, weight, bias, p), {B, (H / p) * (W / p), Co});
  const Tensor via_linear = linear(patchify(x, p), reshape(weight, {Co, p * p * C}), bias);
  EXPECT_LT(testing::max_abs_diff(tokens.to_vector(), via_linear.to_vector()), 1e-5);
}

TEST(Conv2d, BadShapesAreErrors) {
  const Tensor x = uniform_tensor({1, 5, 5, 2}, 1), w = uniform_tensor({3, 3, 3, 2}, 2);
  EXPECT_THROW(conv2d(uniform_tensor({5, 5, 2}, 1), w, Tensor()), core::Error);                  // rank
  EXPECT_THROW(conv2d(x, uniform_tensor({3, 3, 3, 4}, 2), Tensor()), core::Error);               // Ci
  EXPECT_THROW(conv2d(x, w, uniform_tensor({4}, 3)), core::Error);                               // bias
  EXPECT_THROW(conv2d(x, uniform_tensor({3, 7, 7, 2}, 2), Tensor(), 1, 0), core::Error);         // too large
  EXPECT_THROW(conv2d(x, w, Tensor(), 0, 0), core::Error);                                       // stride
  EXPECT_THROW(conv2d(x, w, Tensor(), Conv2dOptions{1, 1, -1, 0}), core::Error);                 // padding
  EXPECT_NO_THROW(conv2d(x, uniform_tensor({3, 7, 7, 2}, 2), Tensor(), 1, 1));                   // fits padded
}

}  // namespace
}  // namespace sieve::ops
