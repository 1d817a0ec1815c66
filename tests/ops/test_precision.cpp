// The precision policy in the ops: each compute dtype's forward and backward equal an exact
// product of the rounded operands, saved activations follow the storage dtype, backward keeps
// its forward's policy, fp16 overflows like fp16 hardware, and the cast cache shares one cast
// among the products that read the same activation.
// Letters: N rows, K input features, M output features.
#include "sieve/ops/precision.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "gradcheck.h"
#include "sieve/autograd/engine.h"
#include "sieve/core/allocator.h"
#include "sieve/core/dtype.h"
#include "sieve/core/error.h"
#include "sieve/kernels/cpu/sparse_attention_plan.h"
#include "sieve/kernels/cpu/tf32.h"
#include "sieve/ops/attention.h"
#include "sieve/ops/linear.h"
#include "sieve/ops/sparse_attention.h"

namespace sieve::ops {
namespace {

using core::DType;
using testing::requires_grad;
using testing::uniform_tensor;

float round_bf16(float x) { return core::bf16_bits_to_f32(core::f32_to_bf16_bits(x)); }
float round_f16(float x) { return core::f16_bits_to_f32(core::f32_to_f16_bits(x)); }
// The TF32 value nearest to x, ties to even, by exact double arithmetic: 11 significant bits
// for normal numbers; subnormals share the smallest normal's spacing, 2^-136.
float round_tf32_reference(float x) {
  if (!std::isfinite(x) || x == 0.0f) return x;
  int exponent = 0;
  std::frexp(static_cast<double>(x), &exponent);  // x = m · 2^e, |m| in [0.5, 1)
  const int quantum = std::max(exponent, -125) - 11;
  return static_cast<float>(std::ldexp(std::nearbyint(std::ldexp(static_cast<double>(x), -quantum)), quantum));
}

float round_to(ComputePrecision p, float x) {
  switch (p) {
    case ComputePrecision::f32: return x;
    case ComputePrecision::bf16: return round_bf16(x);
    case ComputePrecision::f16: return round_f16(x);
    case ComputePrecision::tf32: return round_tf32_reference(x);
  }
  return x;
}

std::vector<float> rounded(const Tensor& t, ComputePrecision p) {
  std::vector<float> v = t.to_vector();
  for (float& x : v) x = round_to(p, x);
  return v;
}

// y[N, M] = x[N, K] · w[M, K]ᵀ in double.
std::vector<double> xwt(const std::vector<float>& x, const std::vector<float>& w, std::int64_t N, std::int64_t K,
                        std::int64_t M) {
  std::vector<double> y(static_cast<std::size_t>(N * M));
  for (std::int64_t i = 0; i < N; ++i)
    for (std::int64_t j = 0; j < M; ++j) {
      double acc = 0.0;
      for (std::int64_t p = 0; p < K; ++p) acc += double(x[i * K + p]) * w[j * K + p];
      y[i * M + j] = acc;
    }
  return y;
}

std::vector<float> transposed(const std::vector<float>& a, std::int64_t rows, std::int64_t cols) {
  std::vector<float> t(a.size());
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) t[j * rows + i] = a[i * cols + j];
  return t;
}

void expect_relative(const std::vector<float>& got, const std::vector<double>& want, ComputePrecision p,
                     const char* what) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    // f32 accumulation of rounded operands; fp16 also rounds the result to binary16.
    const double expected = p == ComputePrecision::f16 ? round_f16(static_cast<float>(want[i])) : want[i];
    const double tol = 1e-5 + (p == ComputePrecision::f16 ? 1e-3 : 2e-6) * std::abs(expected);
    ASSERT_NEAR(got[i], expected, tol) << what << " element " << i << " under " << precision_name(p);
  }
}

class LinearPrecision : public ::testing::TestWithParam<ComputePrecision> {};

TEST_P(LinearPrecision, ForwardAndGradientsAreExactProductsOfRoundedOperands) {
  const ComputePrecision p = GetParam();
  constexpr std::int64_t N = 6, K = 40, M = 9;
  const Tensor x = requires_grad(uniform_tensor({N, K}, 1));
  const Tensor w = requires_grad(uniform_tensor({M, K}, 2));
  const Tensor dy = uniform_tensor({N, M}, 3);
  Tensor y;
  {
    const PrecisionScope scope(default_policy(p));
    y = linear(x, w);
  }
  // Backward runs outside the scope and must still use the forward's policy.
  autograd::backward(y, dy);

  const auto xr = rounded(x, p), wr = rounded(w, p), dyr = rounded(dy, p);
  expect_relative(y.to_vector(), xwt(xr, wr, N, K, M), p, "y");
  // dx[N, K] = dy[N, M] · w[M, K] = dy · (wᵀ)ᵀ
  expect_relative(x.grad().to_vector(), xwt(dyr, transposed(wr, M, K), N, M, K), p, "dx");
  // dW[M, K] = dyᵀ[M, N] · x[N, K]
  expect_relative(w.grad().to_vector(), xwt(transposed(dyr, N, M), transposed(xr, N, K), M, N, K), p, "dW");
}

INSTANTIATE_TEST_SUITE_P(AllPolicies, LinearPrecision,
                         ::testing::Values(ComputePrecision::f32, ComputePrecision::bf16, ComputePrecision::f16,
                                           ComputePrecision::tf32),
                         [](const auto& info) { return std::string(precision_name(info.param)); });

TEST(Precision, RoundingLeavesThePolicyGridOnly) {
  // The rounded values differ from f32 (so the tests above can tell the policies apart).
  const Tensor x = uniform_tensor({64}, 4);
  for (ComputePrecision p : {ComputePrecision::bf16, ComputePrecision::f16, ComputePrecision::tf32})
    EXPECT_NE(rounded(x, p), x.to_vector()) << precision_name(p);
}

TEST(Precision, Tf32KernelMatchesTheReference) {
  std::vector<float> values = {0.0f, -0.0f, 1.0f, 1.0f + 0x1p-11f, 1.0f + 0x3p-11f, 1.0f + 0x1p-12f, -3.14159265f,
                               1e-40f, 6.1e-5f, 65519.0f, std::numeric_limits<float>::max(),
                               std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
  for (float v : uniform_tensor({1000}, 5, -1e6f, 1e6f).to_vector()) values.push_back(v);
  std::vector<float> out(values.size());
  kernels::cpu::round_to_tf32(static_cast<std::int64_t>(values.size()), values.data(), out.data());
  EXPECT_EQ(out[3], 1.0f) << "a tie rounds to even";
  EXPECT_EQ(out[4], 1.0f + 0x1p-9f) << "a tie rounds to even (upwards here)";
  EXPECT_EQ(out[10], std::numeric_limits<float>::infinity()) << "past the largest tf32 value";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i == 10) continue;  // the reference's double arithmetic does not overflow
    EXPECT_EQ(std::bit_cast<std::uint32_t>(out[i]), std::bit_cast<std::uint32_t>(round_tf32_reference(values[i])))
        << values[i];
  }
  const float nan = std::numeric_limits<float>::quiet_NaN();
  float nan_out = 0.0f;
  kernels::cpu::round_to_tf32(1, &nan, &nan_out);
  EXPECT_TRUE(std::isnan(nan_out));
}

TEST(Precision, Fp16OverflowsToInfinityLikeFp16Hardware) {
  const Tensor x = Tensor::full({2, 4}, 200.0);
  const Tensor w = Tensor::full({3, 4}, 100.0);  // each output = 4 · 200 · 100 = 80000 > 65504
  const PrecisionScope scope(default_policy(ComputePrecision::f16));
  for (float v : linear(x, w).to_vector()) EXPECT_EQ(v, std::numeric_limits<float>::infinity());
}

TEST(Precision, Bf16StorageWithF32ComputeRoundsOnlyTheSavedActivation) {
  constexpr std::int64_t N = 5, K = 12, M = 7;
  const Tensor x = requires_grad(uniform_tensor({N, K}, 6));
  const Tensor w = requires_grad(uniform_tensor({M, K}, 7));
  const Tensor dy = uniform_tensor({N, M}, 8);
  Tensor y;
  {
    const PrecisionScope scope({ComputePrecision::f32, DType::bf16});
    y = linear(x, w);
  }
  autograd::backward(y, dy);
  expect_relative(y.to_vector(), xwt(x.to_vector(), w.to_vector(), N, K, M), ComputePrecision::f32, "y");
  const auto xr = rounded(x, ComputePrecision::bf16);
  expect_relative(w.grad().to_vector(), xwt(transposed(dy.to_vector(), N, M), transposed(xr, N, K), M, N, K),
                  ComputePrecision::f32, "dW from the bf16-saved x");
}

TEST(Precision, MatmulFollowsThePolicy) {
  const Tensor a = requires_grad(uniform_tensor({2, 3, 16}, 9));
  const Tensor b = requires_grad(uniform_tensor({16, 5}, 10));
  Tensor c;
  {
    const PrecisionScope scope(default_policy(ComputePrecision::bf16));
    c = matmul(a, b);
  }
  const auto ar = rounded(a, ComputePrecision::bf16), br = rounded(b, ComputePrecision::bf16);
  expect_relative(c.to_vector(), xwt(ar, transposed(br, 16, 5), 6, 16, 5), ComputePrecision::bf16, "c");
  autograd::backward(c, Tensor::ones({2, 3, 5}));
  ASSERT_TRUE(a.grad().defined() && b.grad().defined());
}

TEST(Precision, ActivationsReadBySeveralProductsAreCastOnce) {
  // Three projections of one activation (q, k, v) keep one bf16 copy of it, not three.
  constexpr std::int64_t N = 256, K = 128;
  const Tensor leaf = requires_grad(uniform_tensor({N, K}, 11));
  const Tensor w1 = requires_grad(uniform_tensor({K, K}, 12));
  const Tensor w2 = requires_grad(uniform_tensor({K, K}, 13));
  const Tensor w3 = requires_grad(uniform_tensor({K, K}, 14));
  const PrecisionScope scope(default_policy(ComputePrecision::bf16));
  const Tensor x = linear(leaf, w1);  // an activation: it has a graph node
  auto& alloc = core::allocator();
  const std::size_t before = alloc.stats().allocated_bytes;
  const Tensor q = linear(x, w1), k = linear(x, w2), v = linear(x, w3);
  const std::size_t grown = alloc.stats().allocated_bytes - before;
  const std::size_t outputs = 3 * N * K * sizeof(float), one_cast = N * K * 2;
  EXPECT_LT(grown, outputs + 2 * one_cast) << "x was cast more than once";
  EXPECT_GE(grown, outputs + one_cast);
}

TEST(Precision, AttentionOperandsRoundedAndSavedInTheStorageDtype) {
  constexpr std::int64_t B = 1, T = 24, H = 2, D = 16;
  for (ComputePrecision p : {ComputePrecision::bf16, ComputePrecision::f16, ComputePrecision::tf32}) {
    const Tensor q = requires_grad(uniform_tensor({B, T, H, D}, 20)), k = requires_grad(uniform_tensor({B, T, H, D}, 21));
    const Tensor v = requires_grad(uniform_tensor({B, T, H, D}, 22));
    const Tensor dout = uniform_tensor({B, T, H, D}, 23);
    Tensor out;
    {
      const PrecisionScope scope(default_policy(p));
      out = causal_attention(q, k, v, 0.25f);
    }
    autograd::backward(out, dout);
    // Reference: f32 attention on the rounded operands.
    const auto as_leaf = [&](const Tensor& t) {
      return requires_grad(Tensor::from_vector(rounded(t, p), t.shape()));
    };
    const Tensor qr = as_leaf(q), kr = as_leaf(k), vr = as_leaf(v);
    const Tensor ref = causal_attention(qr, kr, vr, 0.25f);
    autograd::backward(ref, Tensor::from_vector(rounded(dout, p), dout.shape()));
    const double tol = p == ComputePrecision::f16 ? 2e-3 : 1e-5;
    const auto ref_out = p == ComputePrecision::f16 ? rounded(ref, p) : ref.to_vector();  // fp16 rounds its output
    EXPECT_LT(testing::max_abs_diff(out.to_vector(), ref_out), tol) << precision_name(p);
    EXPECT_LT(testing::max_abs_diff(q.grad().to_vector(), qr.grad().to_vector()), tol) << precision_name(p);
    EXPECT_LT(testing::max_abs_diff(v.grad().to_vector(), vr.grad().to_vector()), tol) << precision_name(p);
  }
}

TEST(Precision, SparseAttentionFollowsThePolicyLikeDenseAttention) {
  constexpr std::int64_t B = 1, T = 160, H = 2, D = 16, R = 1, NBk = 4;
  SparseAttentionParams params;
  params.window = 64;
  params.global_cap = 16;
  params.lsh_keys = 8;
  params.lsh_rounds = R;
  params.lsh_buckets = NBk;
  params.threshold = 0.0f;
  const Tensor scores = uniform_tensor({B, T}, 30), bias = Tensor::zeros({B, T});
  const Tensor rotations =
      Tensor::from_vector(kernels::cpu::make_lsh_rotations(R, H, D, NBk, 5), {R, H, D, NBk / 2});
  for (ComputePrecision p : {ComputePrecision::bf16, ComputePrecision::f16}) {
    const Tensor q = requires_grad(uniform_tensor({B, T, H, D}, 31)), k = requires_grad(uniform_tensor({B, T, H, D}, 32));
    const Tensor v = requires_grad(uniform_tensor({B, T, H, D}, 33));
    const Tensor dout = uniform_tensor({B, T, H, D}, 34);
    Tensor out;
    {
      const PrecisionScope scope(default_policy(p));
      out = sparse_attention(q, k, v, scores, bias, rotations, params, 0.25f);
    }
    autograd::backward(out, dout);
    const auto as_leaf = [&](const Tensor& t) { return requires_grad(Tensor::from_vector(rounded(t, p), t.shape())); };
    const Tensor qr = as_leaf(q), kr = as_leaf(k), vr = as_leaf(v);
    const Tensor ref = sparse_attention(qr, kr, vr, scores, bias, rotations, params, 0.25f);
    autograd::backward(ref, Tensor::from_vector(rounded(dout, p), dout.shape()));
    const double tol = p == ComputePrecision::f16 ? 2e-3 : 1e-5;
    const auto ref_out = p == ComputePrecision::f16 ? rounded(ref, p) : ref.to_vector();
    EXPECT_LT(testing::max_abs_diff(out.to_vector(), ref_out), tol) << precision_name(p);
    EXPECT_LT(testing::max_abs_diff(q.grad().to_vector(), qr.grad().to_vector()), tol) << precision_name(p);
    EXPECT_LT(testing::max_abs_diff(k.grad().to_vector(), kr.grad().to_vector()), tol) << precision_name(p);
    EXPECT_NE(out.to_vector(), sparse_attention(q, k, v, scores, bias, rotations, params, 0.25f).to_vector())
        << "the policy changed nothing under " << precision_name(p);
  }
}

TEST(Precision, ScopesNestAndRestore) {
  EXPECT_EQ(current_precision(), PrecisionPolicy{});
  {
    const PrecisionScope outer(default_policy(ComputePrecision::bf16));
    {
      const PrecisionScope inner(default_policy(ComputePrecision::tf32));
      EXPECT_EQ(current_precision().compute, ComputePrecision::tf32);
    }
    EXPECT_EQ(current_precision(), default_policy(ComputePrecision::bf16));
  }
  EXPECT_EQ(current_precision(), PrecisionPolicy{});
}

TEST(Precision, NamesParseAndBadNamesAreUserErrors) {
  for (ComputePrecision p : {ComputePrecision::f32, ComputePrecision::bf16, ComputePrecision::f16, ComputePrecision::tf32})
    EXPECT_EQ(parse_compute_precision(precision_name(p)), p);
  EXPECT_EQ(describe(default_policy(ComputePrecision::bf16)), "bf16");
  EXPECT_EQ(describe({ComputePrecision::f32, DType::bf16}), "fp32 (bf16 activations)");
  try {
    parse_compute_precision("fp8", "--precision");
    FAIL() << "fp8 accepted";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("--precision"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sieve::ops
