// embedding: row gather values, scatter-add gradient (repeated ids), id errors.
// Letters: V vocabulary, C channels.
#include "sieve/ops/embedding.h"

#include <gtest/gtest.h>

#include "gradcheck.h"

namespace sieve::ops {
namespace {

using testing::gradcheck;
using testing::requires_grad;
using testing::uniform_tensor;

TEST(Embedding, GathersRowsForAnyIdShape) {
  const std::int64_t V = 7, C = 5;
  const Tensor table = uniform_tensor({V, C}, 1);
  const std::vector<std::int64_t> idv{3, 0, 6, 3, 1, 2};
  const Tensor ids = Tensor::from_vector(idv, {2, 3});
  const Tensor out = embedding(table, ids);
  ASSERT_EQ(out.shape(), (core::Shape{2, 3, C}));
  const auto tv = table.to_vector(), ov = out.to_vector();
  for (std::size_t n = 0; n < idv.size(); ++n)
    for (std::int64_t c = 0; c < C; ++c) ASSERT_EQ(ov[n * C + c], tv[idv[n] * C + c]) << n << "," << c;
}

TEST(Embedding, GradientAccumulatesRepeatedIds) {
  const Tensor table = requires_grad(uniform_tensor({6, 4}, 2));
  const Tensor ids = Tensor::from_vector(std::vector<std::int64_t>{5, 1, 5, 0, 5, 2, 1, 3}, {2, 4});
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return embedding(in[0], in[1]); }, {table, ids}));
}

TEST(Embedding, GradientOfUnusedRowsIsZero) {
  Tensor table = requires_grad(uniform_tensor({4, 3}, 3));
  const Tensor ids = Tensor::from_vector(std::vector<std::int64_t>{2, 2}, {2});
  autograd::backward(embedding(table, ids), Tensor::ones({2, 3}));
  const auto g = table.grad().to_vector();
  for (std::int64_t r = 0; r < 4; ++r)
    for (std::int64_t c = 0; c < 3; ++c) EXPECT_EQ(g[r * 3 + c], r == 2 ? 2.0f : 0.0f) << r << "," << c;
}

TEST(Embedding, BadIdsAreErrorsNamingTheId) {
  const Tensor table = uniform_tensor({4, 3}, 4);
  try {
    embedding(table, Tensor::from_vector(std::vector<std::int64_t>{1, 97}, {2}));
    FAIL() << "id 97 accepted for V = 4";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("97"), std::string::npos) << e.what();
  }
  EXPECT_THROW(embedding(table, Tensor::from_vector(std::vector<std::int64_t>{4}, {1})), core::Error);
  EXPECT_THROW(embedding(table, Tensor::from_vector(std::vector<std::int64_t>{-1}, {1})), core::Error);
  EXPECT_THROW(embedding(table, Tensor::from_vector(std::vector<std::int32_t>{1}, {1})), core::Error);
  EXPECT_THROW(embedding(uniform_tensor({12}, 5), Tensor::from_vector(std::vector<std::int64_t>{1}, {1})), core::Error);
}

}  // namespace
}  // namespace sieve::ops
