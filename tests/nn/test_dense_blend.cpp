// The dense-to-sparse blend (NOTE [Dense blend] in nn/attention/sparse.cpp): a sparse layer
// with dense share a returns a · dense + (1 − a) · sparse attention, in value and gradient;
// decoding ignores the share; bad shares are clear errors.
// Letters: B batch, T tokens, C channels.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "sieve/autograd/engine.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/core/error.h"
#include "sieve/nn/attention/dense.h"
#include "sieve/nn/attention/sparse.h"
#include "sieve/nn/models/llama.h"
#include "sieve/nn/models/presets.h"
#include "sieve/ops/arithmetic.h"
#include "small_sparse_config.h"

namespace sieve::nn {
namespace {

Tensor inputs(std::int64_t tokens, std::int64_t channels, std::uint64_t seed) {
  core::Rng rng(seed);
  return normal_tensor({1, tokens, channels}, 1.0, rng);
}

double max_abs_difference(const Tensor& a, const Tensor& b) {
  const auto x = a.contiguous().to_vector(), y = b.contiguous().to_vector();
  EXPECT_EQ(x.size(), y.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(double(x[i]) - y[i]));
  return worst;
}

// d(Σ out · w)/dx for the layer at its current share; w fixed so every output element counts.
Tensor input_gradient(const Attention& layer, const Tensor& x, const Tensor& w) {
  Tensor leaf = x.clone();
  leaf.set_requires_grad(true);
  autograd::backward(ops::sum(ops::mul(layer.forward(leaf, nullptr), w)));
  return leaf.grad().clone();
}

TEST(DenseBlend, ValuesAndGradientsMixDenseAndSparseAttention) {
  const LlamaConfig config = sieve::testing::small_sparse_config();
  core::Rng rng_sparse(21), rng_dense(21);
  SparseAttention sparse(config, false, 0, rng_sparse);
  const DenseAttention dense(config, 0, rng_dense);  // the same projection weights (same draws first)
  const Tensor x = inputs(300, config.hidden_size, 1);
  const Tensor w = inputs(300, config.hidden_size, 2);
  const Tensor dense_out = dense.forward(x, nullptr), sparse_out = sparse.forward(x, nullptr);
  ASSERT_GT(max_abs_difference(dense_out, sparse_out), 1e-3);  // the key sets do drop keys
  const Tensor dense_grad = input_gradient(dense, x, w), sparse_grad = input_gradient(sparse, x, w);
  ASSERT_GT(max_abs_difference(dense_grad, sparse_grad), 1e-3);

  sparse.set_dense_blend(1.0f);
  EXPECT_LT(max_abs_difference(sparse.forward(x, nullptr), dense_out), 1e-5);
  EXPECT_LT(max_abs_difference(input_gradient(sparse, x, w), dense_grad), 1e-4);

  const float a = 0.25f;
  sparse.set_dense_blend(a);
  const Tensor mixed = ops::add(ops::scale(dense_out, a), ops::scale(sparse_out, 1.0f - a));
  EXPECT_LT(max_abs_difference(sparse.forward(x, nullptr), mixed), 1e-5);
  const Tensor mixed_grad = ops::add(ops::scale(dense_grad, a), ops::scale(sparse_grad, 1.0f - a));
  EXPECT_LT(max_abs_difference(input_gradient(sparse, x, w), mixed_grad), 1e-4);

  sparse.set_dense_blend(0.0f);
  EXPECT_EQ(sparse.forward(x, nullptr).to_vector(), sparse_out.to_vector());
}

TEST(DenseBlend, DecodingIgnoresTheShare) {
  LlamaForCausalLM model(sieve::testing::small_sparse_config(), 5);
  autograd::NoGradGuard no_grad;
  const std::int64_t T = 200, prompt = 120;
  core::Rng rng(6);
  std::vector<std::int64_t> ids(T);
  for (auto& id : ids) id = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(model.config().vocab_size)));
  const Tensor all = Tensor::from_vector(ids, {1, T});
  const Tensor sparse_logits = model.forward(all);
  model.set_dense_blend(1.0f);
  EXPECT_GT(max_abs_difference(model.forward(all), sparse_logits), 1e-3);  // the full forward blends
  KvCache cache = model.make_cache(1, T);
  model.forward(all.slice(1, 0, prompt).contiguous(), &cache);
  for (std::int64_t t = prompt; t < T; ++t) {
    const Tensor step = model.forward(all.slice(1, t, t + 1).contiguous(), &cache);
    ASSERT_LT(max_abs_difference(step, sparse_logits.slice(1, t, t + 1)), 1e-4) << "position " << t;
  }
}

TEST(DenseBlend, BadSharesAreClearErrors) {
  core::Rng rng(3);
  SparseAttention layer(sieve::testing::small_sparse_config(), false, 0, rng);
  for (const float share : {-0.1f, 1.5f, std::numeric_limits<float>::quiet_NaN()}) {
    try {
      layer.set_dense_blend(share);
      ADD_FAILURE() << "accepted " << share;
    } catch (const core::UserError& e) {
      EXPECT_NE(std::string(e.what()).find("dense blend share"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(layer.dense_blend(), 0.0f);  // a rejected share leaves the layer as it was
}

}  // namespace
}  // namespace sieve::nn
