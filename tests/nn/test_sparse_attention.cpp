// The sparse attention module: equal to dense attention when its key sets cover everything,
// causal, decoding through the KV cache equal to the full forward, trainable scorer, the
// "sparse_attention" LoRA target, and the layer hierarchy.
// Letters: B batch, T tokens, C channels, V vocab.
#include "sieve/nn/attention/sparse.h"

#include <gtest/gtest.h>

#include <cmath>

#include "sieve/autograd/engine.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/core/error.h"
#include "sieve/nn/adapters/lora.h"
#include "sieve/nn/attention/dense.h"
#include "sieve/nn/models/llama.h"
#include "sieve/ops/arithmetic.h"
#include "small_sparse_config.h"

namespace sieve::nn {
namespace {

// small_sparse_config with every key reachable: τ 0 and G 512 make each key global or local, two
// LSH rounds and an 8-channel scorer.
LlamaConfig sparse_config(const std::string& type) {
  LlamaConfig config = sieve::testing::small_sparse_config();
  config.attention.type = type;
  config.attention.global_cap = 512;
  config.attention.lsh_rounds = 2;
  config.attention.threshold = 0.0;
  config.attention.scorer_channels = 8;
  return config;
}

Tensor inputs(std::int64_t batch, std::int64_t tokens, std::int64_t channels, std::uint64_t seed) {
  core::Rng rng(seed);
  return normal_tensor({batch, tokens, channels}, 1.0, rng);
}

double max_abs_difference(const Tensor& a, const Tensor& b) {
  const auto x = a.to_vector(), y = b.to_vector();
  EXPECT_EQ(x.size(), y.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(double(x[i]) - y[i]));
  return worst;
}

TEST(SparseAttentionModule, KeepingEveryTokenEqualsDenseAttention) {
  const LlamaConfig config = sparse_config("sparse");  // τ = 0, G >= T: every key is global or local
  core::Rng rng_sparse(7), rng_dense(7);
  const SparseAttention sparse(config, false, 0, rng_sparse);
  const DenseAttention dense(config, 0, rng_dense);  // the same projection weights (same draws first)
  const Tensor x = inputs(2, 200, config.hidden_size, 1);
  EXPECT_LT(max_abs_difference(sparse.forward(x, nullptr), dense.forward(x, nullptr)), 1e-5);
}

TEST(SparseAttentionModule, SequencesWithinTheWindowEqualDenseAttention) {
  LlamaConfig config = sparse_config("local");
  core::Rng rng_local(8), rng_dense(8);
  const SparseAttention local(config, true, 0, rng_local);
  const DenseAttention dense(config, 0, rng_dense);
  const Tensor x = inputs(1, 64, config.hidden_size, 2);  // T <= W
  EXPECT_LT(max_abs_difference(local.forward(x, nullptr), dense.forward(x, nullptr)), 1e-5);
  // Past the window the local layer no longer sees everything.
  const Tensor longer = inputs(1, 160, config.hidden_size, 3);
  EXPECT_GT(max_abs_difference(local.forward(longer, nullptr), dense.forward(longer, nullptr)), 1e-3);
}

TEST(SparseAttentionModule, LaterTokensNeverChangeEarlierOutputs) {
  LlamaConfig config = sparse_config("sparse");
  config.attention.threshold = 0.5;
  config.attention.global_cap = 16;
  core::Rng rng(9);
  const SparseAttention layer(config, false, 0, rng);
  const std::int64_t T = 300, cut = 170;
  Tensor x = inputs(1, T, config.hidden_size, 4);
  const Tensor before = layer.forward(x, nullptr);
  Tensor changed = x.clone();
  const Tensor noise = inputs(1, T - cut, config.hidden_size, 5);
  changed.slice(1, cut, T).copy_from(noise);
  const Tensor after = layer.forward(changed, nullptr);
  EXPECT_EQ(before.slice(1, 0, cut).contiguous().to_vector(), after.slice(1, 0, cut).contiguous().to_vector());
  EXPECT_NE(before.slice(1, cut, T).contiguous().to_vector(), after.slice(1, cut, T).contiguous().to_vector());
}

TEST(SparseAttentionModule, DecodingWithTheCacheEqualsTheFullForward) {
  for (const char* kind : {"sparse", "local"}) {
    LlamaConfig config = sparse_config(kind);
    config.attention.threshold = 0.5;
    config.attention.global_cap = 24;
    config.attention.layers = {"sparse", std::string(kind)};  // a mixed stack
    LlamaForCausalLM model(config, 11);
    autograd::NoGradGuard no_grad;
    const std::int64_t T = 260, prompt = 100;
    core::Rng rng(12);
    std::vector<std::int64_t> ids(T);
    for (auto& id : ids) id = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(config.vocab_size)));
    const Tensor all = Tensor::from_vector(ids, {1, T});
    const Tensor full = model.forward(all);  // [1, T, V]
    KvCache cache = model.make_cache(1, T);
    const Tensor first = model.forward(all.slice(1, 0, prompt).contiguous(), &cache);
    EXPECT_LT(max_abs_difference(first, full.slice(1, 0, prompt).contiguous()), 1e-4) << kind;
    for (std::int64_t t = prompt; t < T; ++t) {
      const Tensor step = model.forward(all.slice(1, t, t + 1).contiguous(), &cache);
      ASSERT_LT(max_abs_difference(step, full.slice(1, t, t + 1).contiguous()), 1e-4) << kind << " position " << t;
    }
  }
}

TEST(SparseAttentionModule, TheScorerLearnsThroughTheGlobalBias) {
  LlamaConfig config = sparse_config("sparse");
  config.attention.global_cap = 512;  // selection cannot change under the perturbations below
  core::Rng rng(13);
  SparseAttention layer(config, false, 0, rng);
  const Tensor x = inputs(1, 150, config.hidden_size, 6);
  const auto named = layer.named_parameters();
  const auto find = [&](const std::string& name) {
    for (const auto& [n, t] : named)
      if (n == name) return t;
    ADD_FAILURE() << "no parameter " << name;
    return Tensor();
  };
  Tensor beta = find("global_bias_scale");
  beta.data<float>()[0] = 0.7f;  // a trained-looking scale, so the scorer gets a gradient
  const Tensor weight = layer.forward(x, nullptr);
  const Tensor probe = inputs(1, 150, config.hidden_size, 7);
  const auto loss_of = [&] { return ops::sum(ops::mul(layer.forward(x, nullptr), probe)); };
  autograd::backward(loss_of());
  for (const char* name : {"global_bias_scale", "scorer.conv1.weight", "scorer.out.weight"}) {
    Tensor p = find(name);
    ASSERT_TRUE(p.grad().defined()) << name;
    // Finite differences on one element.
    float* value = p.data<float>();
    const float saved = value[0];
    const double eps = 1e-2;
    value[0] = saved + static_cast<float>(eps);
    const double up = loss_of().item();
    value[0] = saved - static_cast<float>(eps);
    const double down = loss_of().item();
    value[0] = saved;
    const double numeric = (up - down) / (2 * eps);
    const double analytic = p.grad().to_vector()[0];
    EXPECT_NEAR(analytic, numeric, 2e-2 * std::max(1.0, std::abs(numeric))) << name;
    EXPECT_NE(analytic, 0.0) << name;
  }
  (void)weight;
}

TEST(SparseAttentionModule, CoverageOfDenseMassFallsAsTheThresholdRises) {
  LlamaConfig config = sparse_config("sparse");
  config.attention.global_cap = 512;
  config.attention.lsh_rounds = 1;
  core::Rng rng(15);
  SparseAttention layer(config, false, 0, rng);
  const Tensor x = inputs(1, 400, config.hidden_size, 8);
  layer.set_measure_coverage(true);
  double previous = 2.0;
  for (float tau : {0.0f, 0.3f, 0.5f, 0.55f, 1.0f}) {
    layer.set_threshold(tau);
    layer.reset_coverage();
    layer.forward(x, nullptr);
    const double coverage = layer.coverage().mean();
    EXPECT_EQ(layer.coverage().queries, 400 * config.num_attention_heads);
    if (tau == 0.0f) {
      EXPECT_NEAR(coverage, 1.0, 1e-4) << "every key is covered";
    }
    EXPECT_LE(coverage, previous + 1e-9) << "tau " << tau;
    previous = coverage;
  }
  EXPECT_LT(previous, 0.99) << "tau = 1 keeps (almost) no global token";
  EXPECT_THROW(layer.set_threshold(1.5f), core::UserError);
}

TEST(SparseAttentionModule, LoraCanTargetOnlyTheSparseAttentionModules) {
  LlamaConfig config = sparse_config("sparse");
  config.attention.layers = {"sparse", "dense"};
  LlamaForCausalLM model(config, 14);
  const auto paths = lora_target_paths(model, "sparse_attention");
  ASSERT_FALSE(paths.empty());
  bool scorer = false;
  for (const auto& path : paths) {
    EXPECT_NE(path.find("layers.0.self_attn."), std::string::npos) << path << " is not in the sparse layer";
    scorer = scorer || path.find("scorer") != std::string::npos;
  }
  EXPECT_TRUE(scorer) << "the scorer's projections are targets too";
  EXPECT_EQ(paths.size(), 5u);  // q, k, v, o, scorer.proj1
}

}  // namespace
}  // namespace sieve::nn
