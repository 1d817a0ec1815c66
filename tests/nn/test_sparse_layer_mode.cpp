// What a sparse layer computes is a property of the model (NOTE [Sparse layer mode] in
// nn/attention/sparse.cpp): dense iff the model's context is below dense_below, otherwise the
// sparse function at every length — full forward, training and KV-cached decoding alike — with
// the dense kernel only where it is the same function (every position within the window).
// Letters: B batch, T tokens, H heads, Hkv kv heads, D head dim, V vocab.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "sieve/autograd/engine.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/kernels/cpu/sparse_attention_plan.h"
#include "sieve/nn/attention/dense.h"
#include "sieve/nn/attention/sparse.h"
#include "sieve/nn/models/llama.h"
#include "sieve/ops/arithmetic.h"
#include "sieve/ops/attention.h"
#include "sieve/ops/sparse_attention.h"
#include "small_sparse_config.h"

namespace sieve::nn {
namespace {

constexpr std::int64_t kContext = 512;     // small_sparse_config's max_position_embeddings
constexpr std::int64_t kDenseBelow = 256;  // below the context: the model is sparse

// small_sparse_config (W 64, G 16: key sets drop keys from a few hundred tokens on) with a
// dense_below of its own.
LlamaConfig config_with_dense_below(std::int64_t dense_below) {
  LlamaConfig config = sieve::testing::small_sparse_config();
  config.attention.dense_below = dense_below;
  return config;
}

Tensor random_tensor(std::vector<std::int64_t> shape, std::uint64_t seed) {
  core::Rng rng(seed);
  return normal_tensor(shape, 1.0, rng);
}

Tensor random_ids(std::int64_t tokens, std::int64_t vocab, std::uint64_t seed) {
  core::Rng rng(seed);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(tokens));
  for (auto& id : ids) id = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(vocab)));
  return Tensor::from_vector(ids, {1, tokens});
}

double max_abs_difference(const Tensor& a, const Tensor& b) {
  const auto x = a.contiguous().to_vector(), y = b.contiguous().to_vector();
  EXPECT_EQ(x.size(), y.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(double(x[i]) - y[i]));
  return worst;
}

Tensor parameter(const Module& module, const std::string& name) {
  for (const auto& [n, t] : module.named_parameters())
    if (n == name) return t;
  ADD_FAILURE() << "no parameter " << name;
  return Tensor();
}

TEST(SparseLayerMode, TheModelsContextAgainstDenseBelowDecides) {
  EXPECT_FALSE(sparse_layers_run_dense(config_with_dense_below(kDenseBelow)));
  EXPECT_FALSE(sparse_layers_run_dense(config_with_dense_below(kContext)));  // context == dense_below: sparse
  EXPECT_TRUE(sparse_layers_run_dense(config_with_dense_below(kContext + 1)));
}

// The claim the dense shortcut rests on, checked on the kernel itself: with T <= W every query's
// key set is its causal prefix — even with τ 0 and a cap that would make every key global, two
// LSH rounds, and a key bias that would shift global logits — so values and gradients are
// dense attention's, and the key bias gets no gradient.
TEST(SparseLayerMode, WithinTheWindowTheSparseKernelIsDenseAttention) {
  ops::SparseAttentionParams params;
  params.window = 64;
  params.global_cap = 512;
  params.lsh_keys = 8;
  params.lsh_rounds = 2;
  params.lsh_buckets = 8;
  params.threshold = 0.0f;
  const std::int64_t H = 4, Hkv = 2, D = 16;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const Tensor rotations = Tensor::from_vector(
      kernels::cpu::make_lsh_rotations(params.lsh_rounds, Hkv, D, params.lsh_buckets, 5),
      {params.lsh_rounds, Hkv, D, params.lsh_buckets / 2});
  for (const std::int64_t T : {std::int64_t{37}, std::int64_t{64}}) {
    Tensor q = random_tensor({2, T, H, D}, 1), k = random_tensor({2, T, Hkv, D}, 2);
    Tensor v = random_tensor({2, T, Hkv, D}, 3);
    const Tensor scores = random_tensor({2, T}, 4);
    Tensor key_bias = random_tensor({2, T}, 5);
    for (Tensor* t : {&q, &k, &v, &key_bias}) t->set_requires_grad(true);
    const Tensor probe = random_tensor({2, T, H, D}, 6);

    const Tensor sparse = ops::sparse_attention(q, k, v, scores, key_bias, rotations, params, scale);
    autograd::backward(ops::sum(ops::mul(sparse, probe)));
    const std::vector<Tensor> sparse_grads = {q.grad().clone(), k.grad().clone(), v.grad().clone()};
    ASSERT_TRUE(key_bias.grad().defined());
    for (const float g : key_bias.grad().to_vector()) ASSERT_EQ(g, 0.0f) << "T = " << T;
    for (Tensor* t : {&q, &k, &v}) t->zero_grad();

    const Tensor dense = ops::causal_attention(q, k, v, scale, 0);
    autograd::backward(ops::sum(ops::mul(dense, probe)));
    EXPECT_LT(max_abs_difference(sparse, dense), 1e-5) << "T = " << T;
    EXPECT_LT(max_abs_difference(sparse_grads[0], q.grad()), 1e-5) << "T = " << T;
    EXPECT_LT(max_abs_difference(sparse_grads[1], k.grad()), 1e-5) << "T = " << T;
    EXPECT_LT(max_abs_difference(sparse_grads[2], v.grad()), 1e-5) << "T = " << T;
  }
}

// Before, a sequence shorter than dense_below ran dense attention in a sparse model; now the
// length changes nothing: a sparse model computes the sparse function (what the same layer with
// dense_below 0 computes), a dense-running one computes dense attention, at any T.
TEST(SparseLayerMode, TheSequenceLengthDoesNotChooseTheKernel) {
  const LlamaConfig sparse_model = config_with_dense_below(kDenseBelow);
  const LlamaConfig always_sparse = config_with_dense_below(0);
  const LlamaConfig dense_model = config_with_dense_below(kContext + 1);
  core::Rng rng_a(7), rng_b(7), rng_c(7), rng_d(7);
  const SparseAttention layer(sparse_model, false, 0, rng_a);
  const SparseAttention reference(always_sparse, false, 0, rng_b);
  const SparseAttention dense_layer(dense_model, false, 0, rng_c);
  const DenseAttention dense(sparse_model, 0, rng_d);  // the same projection weights (same draws first)
  for (const std::int64_t T : {std::int64_t{200}, std::int64_t{400}}) {  // below and above dense_below
    const Tensor x = random_tensor({1, T, sparse_model.hidden_size}, static_cast<std::uint64_t>(T));
    const Tensor out = layer.forward(x, nullptr);
    EXPECT_EQ(out.contiguous().to_vector(), reference.forward(x, nullptr).contiguous().to_vector()) << "T = " << T;
    EXPECT_GT(max_abs_difference(out, dense.forward(x, nullptr)), 1e-3) << "T = " << T << ": keys are dropped";
    EXPECT_LT(max_abs_difference(dense_layer.forward(x, nullptr), dense.forward(x, nullptr)), 1e-5) << "T = " << T;
  }
}

// The scorer of a sparse model learns from the LM loss on sequences shorter than dense_below
// (they used to run dense, leaving it without a gradient); a dense-running model's does not.
TEST(SparseLayerMode, TheScorerLearnsBelowDenseBelowInASparseModel) {
  for (const bool sparse : {true, false}) {
    core::Rng rng(8);
    const SparseAttention layer(config_with_dense_below(sparse ? kDenseBelow : kContext + 1), false, 0, rng);
    parameter(layer, "global_bias_scale").data<float>()[0] = 0.7f;  // a trained-looking bias scale
    const std::int64_t T = 200;
    const Tensor x = random_tensor({1, T, 64}, 9), probe = random_tensor({1, T, 64}, 10);
    autograd::backward(ops::sum(ops::mul(layer.forward(x, nullptr), probe)));
    const Tensor grad = parameter(layer, "scorer.conv1.weight").grad();
    double norm = 0.0;
    if (grad.defined())
      for (const float g : grad.to_vector()) norm += std::abs(g);
    if (sparse) {
      EXPECT_GT(norm, 0.0);
    } else {
      EXPECT_EQ(norm, 0.0);
    }
  }
}

// Logits of KV-cached decoding, token by token with a cache larger than the sequence, against the
// full forward on the same tokens — for lengths within the window, between the window and
// dense_below, and past dense_below; for a sparse model and for one that runs its sparse layers
// dense; and for caches of several capacities (which used to choose the kernel).
TEST(SparseLayerMode, DecodingGivesTheFullForwardsLogitsAtEveryLength) {
  for (const std::int64_t dense_below : {kDenseBelow, kContext + 1}) {
    const LlamaConfig config = config_with_dense_below(dense_below);
    const LlamaForCausalLM model(config, 21);
    autograd::NoGradGuard no_grad;
    for (const std::int64_t T : {std::int64_t{40}, std::int64_t{150}, std::int64_t{300}}) {
      const Tensor ids = random_ids(T, config.vocab_size, static_cast<std::uint64_t>(T));
      const Tensor full = model.forward(ids);  // [1, T, V]
      for (const std::int64_t capacity : {T, std::int64_t{200}, kContext}) {
        if (capacity < T) continue;
        KvCache cache = model.make_cache(1, capacity);
        const std::int64_t prompt = 8;  // a short prefill, then one token at a time
        const Tensor first = model.forward(ids.slice(1, 0, prompt).contiguous(), &cache);
        EXPECT_LT(max_abs_difference(first, full.slice(1, 0, prompt)), 1e-4)
            << "dense_below " << dense_below << ", T " << T << ", capacity " << capacity;
        for (std::int64_t t = prompt; t < T; ++t) {
          const Tensor step = model.forward(ids.slice(1, t, t + 1).contiguous(), &cache);  // [1, 1, V]
          ASSERT_LT(max_abs_difference(step, full.slice(1, t, t + 1)), 1e-4)
              << "dense_below " << dense_below << ", T " << T << ", capacity " << capacity << ", position " << t;
        }
      }
    }
  }
}

}  // namespace
}  // namespace sieve::nn
