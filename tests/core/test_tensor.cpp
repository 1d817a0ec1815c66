#include <gtest/gtest.h>

#include "sieve/core/allocator.h"
#include "sieve/core/tensor.h"

namespace sieve::core {
namespace {

Tensor arange(std::int64_t n) {
  std::vector<float> values(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) values[static_cast<std::size_t>(i)] = static_cast<float>(i);
  return Tensor::from_vector(values, {n});
}

TEST(Tensor, FactoriesAndShape) {
  Tensor t = Tensor::zeros({2, 3, 4});
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.dim(), 3);
  EXPECT_EQ(t.size(-1), 4);
  EXPECT_EQ(t.strides(), (Shape{12, 4, 1}));
  EXPECT_TRUE(t.is_contiguous());
  for (float v : t.to_vector()) EXPECT_EQ(v, 0.0f);
  EXPECT_EQ(Tensor::full({2}, 2.5).to_vector(), (std::vector<float>{2.5f, 2.5f}));
  EXPECT_THROW(t.size(3), Error);
}

TEST(Tensor, ViewSharesStorage) {
  Tensor t = arange(6);
  Tensor v = t.view({2, -1});
  EXPECT_EQ(v.shape(), (Shape{2, 3}));
  EXPECT_TRUE(v.same_storage(t));
  v.data<float>()[0] = 42.0f;
  EXPECT_EQ(t.data<float>()[0], 42.0f);
  EXPECT_THROW(t.view({4, 2}), Error);
  EXPECT_THROW(t.view({-1, -1}), Error);
}

TEST(Tensor, TransposeAndSliceAreStridedViews) {
  Tensor t = arange(6).view({2, 3});
  Tensor tt = t.transpose(0, 1);
  EXPECT_EQ(tt.shape(), (Shape{3, 2}));
  EXPECT_FALSE(tt.is_contiguous());
  EXPECT_TRUE(tt.same_storage(t));
  EXPECT_EQ(tt.to_vector(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_THROW(tt.view({6}), Error);  // a non-contiguous view cannot be reshaped in place
  Tensor c = tt.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_FALSE(c.same_storage(t));
  EXPECT_EQ(c.to_vector(), (std::vector<float>{0, 3, 1, 4, 2, 5}));

  Tensor s = t.slice(1, 1, 3);
  EXPECT_EQ(s.shape(), (Shape{2, 2}));
  EXPECT_EQ(s.to_vector(), (std::vector<float>{1, 2, 4, 5}));
  EXPECT_THROW(t.slice(1, 2, 4), Error);
}

TEST(Tensor, CopyFromStridedAndFill) {
  Tensor dst = Tensor::zeros({3, 2});
  dst.copy_from(arange(6).view({2, 3}).transpose(0, 1));
  EXPECT_EQ(dst.to_vector(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  Tensor half = dst.slice(0, 1, 2);
  half.fill(-1.0);
  EXPECT_EQ(dst.to_vector(), (std::vector<float>{0, 3, -1, -1, 2, 5}));
  EXPECT_THROW(dst.copy_from(Tensor::zeros({2, 3})), Error);
}

TEST(Tensor, DtypesStoreAndConvert) {
  for (DType dtype : {DType::f32, DType::bf16, DType::f16, DType::i8, DType::u8, DType::i32, DType::i64}) {
    Tensor t = Tensor::full({3}, 2.0, dtype);
    EXPECT_EQ(t.nbytes(), 3 * dtype_size(dtype));
    EXPECT_EQ(t.to_vector(), (std::vector<float>{2, 2, 2})) << dtype_name(dtype);
    EXPECT_EQ(dtype_from_name(dtype_name(dtype)), dtype);
    EXPECT_EQ(dtype_from_name(dtype_safetensors_name(dtype)), dtype);
  }
  EXPECT_FALSE(dtype_from_name("F8").has_value());
  EXPECT_THROW(Tensor::zeros({2}, DType::i32).set_requires_grad(true), Error);
  EXPECT_THROW(Tensor::zeros({2}, DType::i32).data<float>(), Error);
}

TEST(Tensor, Bf16AndF16Rounding) {
  EXPECT_EQ(f32_to_bf16_bits(1.0f), 0x3f80);
  // 1 + 2^-8 lies exactly between two bf16 values: round to even (down to 1.0).
  EXPECT_EQ(f32_to_bf16_bits(1.00390625f), 0x3f80);
  // 1 + 3·2^-8 rounds up to the even neighbour 1 + 2^-6.
  EXPECT_EQ(f32_to_bf16_bits(1.01171875f), 0x3f82);
  EXPECT_TRUE(std::isnan(bf16_bits_to_f32(f32_to_bf16_bits(std::nanf("")))));
  EXPECT_EQ(f16_bits_to_f32(f32_to_f16_bits(65504.0f)), 65504.0f);
  EXPECT_TRUE(std::isinf(f16_bits_to_f32(f32_to_f16_bits(1e6f))));
  EXPECT_EQ(f16_bits_to_f32(f32_to_f16_bits(0.5f)), 0.5f);
}

TEST(Tensor, BorrowRunsReleaseWhenLastViewDies) {
  static float backing[4] = {1, 2, 3, 4};
  bool released = false;
  {
    Tensor view;
    {
      Tensor t = Tensor::borrow(backing, {4}, DType::f32, [&] { released = true; });
      view = t.slice(0, 1, 3);
    }
    EXPECT_FALSE(released);
    EXPECT_EQ(view.to_vector(), (std::vector<float>{2, 3}));
  }
  EXPECT_TRUE(released);
}

TEST(Allocator, ReusesFreedBlocks) {
  const auto before = allocator().stats();
  { Tensor a = Tensor::empty({1000}); }
  const auto middle = allocator().stats();
  { Tensor b = Tensor::empty({1000}); }  // same size class: served from the cache
  const auto after = allocator().stats();
  EXPECT_EQ(after.allocations - middle.allocations, 1u);
  EXPECT_EQ(after.cache_hits - middle.cache_hits, 1u);
  EXPECT_GE(middle.allocations, before.allocations + 1);
  EXPECT_EQ(after.allocated_bytes, before.allocated_bytes);
}

}  // namespace
}  // namespace sieve::core
