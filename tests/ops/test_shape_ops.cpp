// reshape, transpose, slice, contiguous, concat, to_dtype: values, view semantics, gradients.
#include "sieve/ops/shape_ops.h"

#include <gtest/gtest.h>

#include <numeric>

#include "gradcheck.h"
#include "sieve/core/error.h"
#include "sieve/autograd/grad_mode.h"

namespace sieve::ops {
namespace {

using testing::gradcheck;
using testing::requires_grad;
using testing::uniform_tensor;

Tensor iota(core::Shape shape) {
  std::vector<float> v(static_cast<std::size_t>(core::shape_numel(shape)));
  std::iota(v.begin(), v.end(), 0.0f);
  return Tensor::from_vector(v, std::move(shape));
}

TEST(Reshape, ContiguousIsAViewNonContiguousCopies) {
  const Tensor x = iota({2, 6});
  const Tensor r = reshape(x, {3, -1});
  EXPECT_EQ(r.shape(), (core::Shape{3, 4}));
  EXPECT_TRUE(r.same_storage(x));
  EXPECT_EQ(r.to_vector(), x.to_vector());
  const Tensor t = x.transpose(0, 1);  // [6, 2], strided
  const Tensor rt = reshape(t, {12});
  EXPECT_FALSE(rt.same_storage(x));
  EXPECT_EQ(rt.to_vector(), t.to_vector());
}

TEST(Reshape, Gradient) {
  const Tensor x = requires_grad(uniform_tensor({2, 3, 4}, 1));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return reshape(in[0], {4, 6}); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return reshape(transpose(in[0], 0, 2), {-1, 2}); }, {x}));
}

TEST(Reshape, BadShapeIsAnError) {
  EXPECT_THROW(reshape(iota({2, 3}), {4, 2}), core::Error);
  EXPECT_THROW(reshape(iota({2, 3}), {-1, -1}), core::Error);
}

TEST(Transpose, ViewWithSwappedStrides) {
  const Tensor x = iota({2, 3});
  const Tensor t = transpose(x, 0, -1);
  EXPECT_EQ(t.shape(), (core::Shape{3, 2}));
  EXPECT_TRUE(t.same_storage(x));
  EXPECT_EQ(t.to_vector(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_THROW(transpose(x, 0, 2), core::Error);
}

TEST(Transpose, Gradient) {
  const Tensor x = requires_grad(uniform_tensor({2, 3, 4}, 2));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return transpose(in[0], 0, 2); }, {x}));
}

TEST(Slice, ViewOfTheRange) {
  const Tensor x = iota({3, 4});
  const Tensor s = slice(x, 1, 1, 3);
  EXPECT_TRUE(s.same_storage(x));
  EXPECT_EQ(s.to_vector(), (std::vector<float>{1, 2, 5, 6, 9, 10}));
  EXPECT_EQ(slice(x, -2, 2, 3).to_vector(), (std::vector<float>{8, 9, 10, 11}));
  EXPECT_THROW(slice(x, 1, 3, 5), core::Error);
  EXPECT_THROW(slice(x, 1, 2, 1), core::Error);
  EXPECT_THROW(slice(x, 2, 0, 1), core::Error);
}

TEST(Slice, GradientIsZeroOutsideTheSlice) {
  const Tensor x = requires_grad(uniform_tensor({4, 5}, 3));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return slice(in[0], 1, 1, 4); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return slice(in[0], 0, 2, 3); }, {x}));
  Tensor y = requires_grad(iota({3}));
  autograd::backward(slice(y, 0, 1, 2), Tensor::ones({1}));
  EXPECT_EQ(y.grad().to_vector(), (std::vector<float>{0, 1, 0}));
}

TEST(Contiguous, ReturnsInputWhenContiguousElseCopy) {
  const Tensor x = iota({2, 3});
  EXPECT_EQ(contiguous(x).impl_ptr(), x.impl_ptr());
  const Tensor t = x.transpose(0, 1);
  const Tensor c = contiguous(t);
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.to_vector(), t.to_vector());
}

TEST(Contiguous, Gradient) {
  const Tensor x = requires_grad(uniform_tensor({3, 5}, 4));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return contiguous(transpose(in[0], 0, 1)); }, {x}));
}

TEST(Contiguous, LargeStridedCopies) {
  // Exercises the kernel paths: transposed tiles, a strided slice, and a 5-D permutation.
  const Tensor x = uniform_tensor({64, 48}, 5);
  EXPECT_EQ(contiguous(x.transpose(0, 1)).to_vector(), x.transpose(0, 1).to_vector());
  EXPECT_EQ(contiguous(x.slice(1, 5, 40)).to_vector(), x.slice(1, 5, 40).to_vector());
  const Tensor y = uniform_tensor({2, 3, 4, 5, 6}, 6).transpose(0, 3).transpose(1, 4);
  EXPECT_EQ(contiguous(y).to_vector(), y.to_vector());
}

TEST(Concat, ValuesAlongEachDimension) {
  const Tensor a = iota({2, 3});
  const Tensor b = Tensor::from_vector(std::vector<float>{10, 11, 12}, {1, 3});
  EXPECT_EQ(concat({a, b}, 0).to_vector(), (std::vector<float>{0, 1, 2, 3, 4, 5, 10, 11, 12}));
  const Tensor c = Tensor::from_vector(std::vector<float>{7, 8}, {2, 1});
  const Tensor d = concat({a, c, a.slice(1, 0, 1)}, -1);
  EXPECT_EQ(d.shape(), (core::Shape{2, 5}));
  EXPECT_EQ(d.to_vector(), (std::vector<float>{0, 1, 2, 7, 0, 3, 4, 5, 8, 3}));
}

TEST(Concat, LargePartsAlongEachDimension) {
  // Each part lands in a strided slice of the output; one part is itself a transposed view.
  const Tensor a = uniform_tensor({3, 50, 20}, 12);
  const Tensor b = uniform_tensor({3, 30, 50}, 13).transpose(1, 2);  // [3, 50, 30]
  const Tensor c = concat({a, b}, 2);
  ASSERT_EQ(c.shape(), (core::Shape{3, 50, 50}));
  const auto av = a.to_vector(), bv = b.to_vector(), cv = c.to_vector();
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 50; ++j)
      for (std::int64_t k = 0; k < 50; ++k) {
        const float expected = k < 20 ? av[(i * 50 + j) * 20 + k] : bv[(i * 50 + j) * 30 + (k - 20)];
        ASSERT_EQ(cv[(i * 50 + j) * 50 + k], expected) << i << "," << j << "," << k;
      }
  const Tensor d = concat({a, a}, 0);
  const auto dv = d.to_vector();
  EXPECT_EQ(std::vector<float>(dv.begin(), dv.begin() + 3000), av);
  EXPECT_EQ(std::vector<float>(dv.begin() + 3000, dv.end()), av);
}

TEST(Concat, Gradient) {
  const Tensor a = requires_grad(uniform_tensor({2, 3, 2}, 7));
  const Tensor b = requires_grad(uniform_tensor({2, 1, 2}, 8));
  const Tensor c = uniform_tensor({2, 2, 2}, 9);  // no grad
  const Tensor d = requires_grad(uniform_tensor({2, 4, 2}, 10));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return concat({in[0], in[1], in[2], in[3]}, 1); },
                        {a, b, c, d}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return concat({in[0]}, 1); }, {a}));
}

TEST(Concat, MismatchedPartsAreErrors) {
  EXPECT_THROW(concat({iota({2, 3}), iota({3, 3})}, 1), core::Error);
  EXPECT_THROW(concat({iota({2, 3}), iota({2, 3, 1})}, 0), core::Error);
  EXPECT_THROW(concat({}, 0), core::Error);
  EXPECT_THROW(concat({iota({2}), Tensor::zeros({2}, core::DType::i32)}, 0), core::Error);
}

TEST(ToDtype, RoundTripAndGradient) {
  const Tensor x = Tensor::from_vector(std::vector<float>{1.0f, 1.00390625f, -2.5f}, {3});
  const Tensor h = to_dtype(x, core::DType::bf16);
  EXPECT_EQ(h.dtype(), core::DType::bf16);
  EXPECT_EQ(to_dtype(h, core::DType::f32).to_vector(), (std::vector<float>{1.0f, 1.0f, -2.5f}));
  EXPECT_EQ(to_dtype(x, core::DType::f32).impl_ptr(), x.impl_ptr());
  // f32 → f16 → f32: the gradient converts back to f32 and arrives at x unchanged (it is 1·w).
  const Tensor y = requires_grad(uniform_tensor({2, 3}, 11));
  testing::GradcheckOptions options;
  options.rtol = 2e-2;  // the forward rounds to f16 (11 bits)
  options.eps = 5e-2f;
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& in) { return to_dtype(to_dtype(in[0], core::DType::f16), core::DType::f32); },
      {y}, options));
}

TEST(Patchify, PatchesInRowMajorOrderEachFlattenedRowByRow) {
  // x [B=2, H=4, W=6, C=2] with x[b, y, x, c] = b·1000 + y·100 + x·10 + c; p = 2 → [2, 6, 8].
  const std::int64_t B = 2, H = 4, W = 6, C = 2, p = 2;
  std::vector<float> values;
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t y = 0; y < H; ++y)
      for (std::int64_t x = 0; x < W; ++x)
        for (std::int64_t c = 0; c < C; ++c) values.push_back(float(b * 1000 + y * 100 + x * 10 + c));
  const Tensor patches = patchify(Tensor::from_vector(values, {B, H, W, C}), p);
  ASSERT_EQ(patches.shape(), (core::Shape{B, (H / p) * (W / p), p * p * C}));
  const auto got = patches.to_vector();
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t n = 0; n < 6; ++n)
      for (std::int64_t e = 0; e < p * p * C; ++e) {
        const std::int64_t py = e / (p * C), px = e / C % p, c = e % C;
        const std::int64_t y = n / (W / p) * p + py, x = n % (W / p) * p + px;
        ASSERT_EQ(got[(b * 6 + n) * p * p * C + e], float(b * 1000 + y * 100 + x * 10 + c)) << b << " " << n << " " << e;
      }
}

TEST(Patchify, Gradient) {
  const Tensor x = requires_grad(uniform_tensor({2, 4, 6, 3}, 51));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return patchify(in[0], 2); }, {x}));
}

TEST(Patchify, BadShapesAreErrors) {
  EXPECT_THROW(patchify(uniform_tensor({4, 6, 3}, 1), 2), core::Error);     // rank
  EXPECT_THROW(patchify(uniform_tensor({1, 4, 6, 3}, 1), 4), core::Error);  // 6 % 4
  EXPECT_THROW(patchify(uniform_tensor({1, 4, 6, 3}, 1), 0), core::Error);
}

}  // namespace
}  // namespace sieve::ops
