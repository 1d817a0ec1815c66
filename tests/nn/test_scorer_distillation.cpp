// Scorer warm-up by distillation (NOTE [Scorer distillation] in nn/attention/sparse.cpp): the
// target is what its definition says, a few optimiser steps on the distillation loss make the
// scorer rank tokens like their peak dense attention, only the scorer gets its gradient, no-grad
// (validation) losses are untouched, and activation checkpointing counts it exactly once.
// Letters: B batch, T tokens, C channels, W window.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "sieve/autograd/engine.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/core/error.h"
#include "sieve/nn/attention/sparse.h"
#include "sieve/nn/models/llama.h"
#include "sieve/nn/models/presets.h"
#include "sieve/ops/linear.h"
#include "sieve/ops/rope.h"
#include "sieve/ops/shape_ops.h"
#include "small_sparse_config.h"
#include "random_token_ids.h"

namespace sieve::nn {
namespace {

Tensor find_parameter(const Module& module, const std::string& name) {
  for (const auto& [n, t] : module.named_parameters())
    if (n == name) return t;
  ADD_FAILURE() << "no parameter " << name;
  return Tensor();
}

std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<std::size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < order.size(); ++i) r[order[i]] = static_cast<double>(i);
  return r;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  const auto ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(a.size()), mean = (n - 1) / 2;
  double num = 0, da = 0, db = 0;
  for (std::size_t i = 0; i < ra.size(); ++i) {
    num += (ra[i] - mean) * (rb[i] - mean);
    da += (ra[i] - mean) * (ra[i] - mean);
    db += (rb[i] - mean) * (rb[i] - mean);
  }
  return num / std::sqrt(da * db);
}

std::vector<double> as_double(const Tensor& t) {
  const auto v = t.contiguous().to_vector();
  return {v.begin(), v.end()};
}

using testing::token_ids;

// A layer whose q and k projections are scaled up so attention is peaked (at initialisation it is
// almost uniform and every target is about one uniform share).
struct PeakedLayer {
  LlamaConfig config = sieve::testing::small_sparse_config();
  core::Rng rng{21};
  SparseAttention layer{config, false, 0, rng};
  PeakedLayer() {
    for (const char* name : {"q_proj.weight", "k_proj.weight"}) {
      Tensor w = find_parameter(layer, name);
      float* data = w.data<float>();
      for (std::int64_t i = 0; i < w.numel(); ++i) data[i] *= 12.0f;
    }
  }
};

TEST(ScorerDistillation, TheTargetIsTheDistantPeak) {
  // y_j = max over heads and queries i >= j + W of softmax_i(j), against a double reference built
  // from the layer's own q and k (its projections and RoPE, redone here).
  PeakedLayer p;
  const std::int64_t T = 150, W = p.config.attention.window, H = 4, Hkv = 2, D = 16;
  core::Rng rng(3);
  const Tensor x = normal_tensor({1, T, p.config.hidden_size}, 1.0, rng);
  const Tensor y = p.layer.scorer_distillation_target(x);
  ASSERT_TRUE(y.defined());
  ASSERT_EQ(y.shape(), (core::Shape{1, T - W}));
  const float theta = static_cast<float>(p.config.rope_theta);
  const auto project = [&](const char* name, std::int64_t heads) {
    autograd::NoGradGuard no_grad;
    const Tensor h = ops::linear(x, find_parameter(p.layer, name));  // [1, T, heads·D]
    return ops::rope(ops::reshape(h, {1, T, heads, D}), 0, theta).contiguous().to_vector();
  };
  const auto q = project("q_proj.weight", H), k = project("k_proj.weight", Hkv);
  std::vector<double> peak(static_cast<std::size_t>(T), 0.0), logits(static_cast<std::size_t>(T));
  for (std::int64_t h = 0; h < H; ++h)
    for (std::int64_t i = 0; i < T; ++i) {
      double mx = -INFINITY, sum = 0.0;
      for (std::int64_t j = 0; j <= i; ++j) {
        double dot = 0.0;
        for (std::int64_t d = 0; d < D; ++d) dot += double(q[(i * H + h) * D + d]) * k[(j * Hkv + h / 2) * D + d];
        logits[j] = dot / std::sqrt(double(D));
        mx = std::max(mx, logits[j]);
      }
      for (std::int64_t j = 0; j <= i; ++j) sum += std::exp(logits[j] - mx);
      for (std::int64_t j = 0; j + W <= i; ++j) peak[j] = std::max(peak[j], std::exp(logits[j] - mx) / sum);
    }
  const auto got = y.to_vector();
  double lo = 1, hi = 0;
  for (std::int64_t j = 0; j < T - W; ++j) {
    EXPECT_NEAR(got[j], peak[j], 1e-5) << "key " << j;
    lo = std::min(lo, double(got[j]));
    hi = std::max(hi, double(got[j]));
  }
  EXPECT_GT(hi - lo, 0.2) << "peaked attention gives keys very different shares";
  // Too short for any distant query: no target.
  EXPECT_FALSE(p.layer.scorer_distillation_target(x.slice(1, 0, W).contiguous()).defined());
}

TEST(ScorerDistillation, AFewStepsTeachTheScorerToRankLikeTheDensePeak) {
  PeakedLayer p;
  SparseAttention& layer = p.layer;
  layer.set_scorer_distillation(1.0f);
  const std::int64_t B = 2, T = 256, W = p.config.attention.window;
  core::Rng rng(5);
  const Tensor x = normal_tensor({B, T, p.config.hidden_size}, 1.0, rng);
  const Tensor target = layer.scorer_distillation_target(x);  // [B, T−W]
  std::vector<Tensor> scorer_params;
  for (const auto& [name, t] : layer.named_parameters())
    if (name.rfind("scorer.", 0) == 0) scorer_params.push_back(t);
  ASSERT_FALSE(scorer_params.empty());
  const auto correlation = [&] {
    autograd::NoGradGuard no_grad;
    const Tensor scores = layer.scorer()->forward(x).slice(1, 0, T - W);
    return spearman(as_double(scores), as_double(target));
  };
  const double correlation_before = correlation();
  // Adam on the scorer's parameters only, with the distillation loss alone.
  std::vector<std::vector<double>> m(scorer_params.size()), v(scorer_params.size());
  for (std::size_t i = 0; i < scorer_params.size(); ++i) {
    m[i].assign(static_cast<std::size_t>(scorer_params[i].numel()), 0.0);
    v[i].assign(static_cast<std::size_t>(scorer_params[i].numel()), 0.0);
  }
  std::vector<double> losses;
  const int steps = 30;
  for (int step = 1; step <= steps; ++step) {
    for (Tensor& t : scorer_params) t.zero_grad();
    layer.begin_scorer_distillation();
    layer.forward(x, nullptr);
    const Tensor loss = layer.end_scorer_distillation();
    ASSERT_TRUE(loss.defined());
    losses.push_back(loss.item());
    autograd::backward(loss);
    for (std::size_t i = 0; i < scorer_params.size(); ++i) {
      float* w = scorer_params[i].data<float>();
      const auto g = scorer_params[i].grad().to_vector();
      for (std::size_t e = 0; e < g.size(); ++e) {
        m[i][e] = 0.9 * m[i][e] + 0.1 * g[e];
        v[i][e] = 0.999 * v[i][e] + 0.001 * double(g[e]) * g[e];
        const double mh = m[i][e] / (1 - std::pow(0.9, step)), vh = v[i][e] / (1 - std::pow(0.999, step));
        w[e] -= static_cast<float>(1e-2 * mh / (std::sqrt(vh) + 1e-8));
      }
    }
  }
  const double correlation_after = correlation();
  EXPECT_LT(losses.back(), losses.front() - 0.01) << "first " << losses.front() << ", last " << losses.back();
  EXPECT_GT(correlation_after, correlation_before + 0.2)
      << "rank correlation " << correlation_before << " -> " << correlation_after;
  EXPECT_GT(correlation_after, 0.3);
}

TEST(ScorerDistillation, OnlyTheScorerGetsTheDistillationGradient) {
  PeakedLayer p;
  p.layer.set_scorer_distillation(2.0f);
  core::Rng rng(6);
  const Tensor x = normal_tensor({1, 200, p.config.hidden_size}, 1.0, rng);
  Tensor input = x.clone();
  input.set_requires_grad(true);
  p.layer.begin_scorer_distillation();
  p.layer.forward(input, nullptr);
  const Tensor loss = p.layer.end_scorer_distillation();
  ASSERT_TRUE(loss.defined());
  autograd::backward(loss);
  for (const auto& [name, t] : p.layer.named_parameters()) {
    const bool scorer = name.rfind("scorer.", 0) == 0;
    const auto grad = t.grad().defined() ? t.grad().to_vector() : std::vector<float>();
    const bool has_grad = std::any_of(grad.begin(), grad.end(), [](float g) { return g != 0.0f; });
    EXPECT_EQ(has_grad, scorer) << name;
  }
  EXPECT_FALSE(input.grad().defined()) << "the layer input is detached for the distillation loss";
}

TEST(ScorerDistillation, NothingIsCollectedOutsideAGradWindow) {
  PeakedLayer p;
  p.layer.set_scorer_distillation(1.0f);
  core::Rng rng(7);
  const Tensor x = normal_tensor({1, 150, p.config.hidden_size}, 1.0, rng);
  p.layer.forward(x, nullptr);  // not collecting
  EXPECT_FALSE(p.layer.end_scorer_distillation().defined());
  {
    autograd::NoGradGuard no_grad;
    p.layer.begin_scorer_distillation();  // opened under no-grad: stays closed
    p.layer.forward(x, nullptr);
    EXPECT_FALSE(p.layer.end_scorer_distillation().defined());
  }
  p.layer.set_scorer_distillation(0.0f);
  p.layer.begin_scorer_distillation();
  p.layer.forward(x, nullptr);
  EXPECT_FALSE(p.layer.end_scorer_distillation().defined()) << "weight 0 is off";
  EXPECT_THROW(p.layer.set_scorer_distillation(-1.0f), core::UserError);
  EXPECT_THROW(p.layer.set_scorer_distillation(std::nanf("")), core::UserError);
}

TEST(ScorerDistillation, ValidationLossesAreUnaffected) {
  LlamaConfig config = sieve::testing::small_sparse_config();
  LlamaForCausalLM model(config, 31);
  EXPECT_EQ(model.scorer_layer_count(), 2);
  const Tensor ids = token_ids(2, 200, config.vocab_size, 8), targets = token_ids(2, 200, config.vocab_size, 9);
  autograd::NoGradGuard no_grad;
  const double off = model.loss(ids, targets).item();
  model.set_scorer_distillation(1.0f);
  EXPECT_EQ(model.loss(ids, targets).item(), off);
  EXPECT_TRUE(std::isnan(model.last_scorer_distillation_loss()));
  EXPECT_EQ(model.take_scorer_distillation_totals().calls, 0);
}

TEST(ScorerDistillation, TrainingLossAddsTheWeightedTermAndLeavesTheRestOfTheGradientAlone) {
  LlamaConfig config = sieve::testing::small_sparse_config();
  const Tensor ids = token_ids(1, 200, config.vocab_size, 10), targets = token_ids(1, 200, config.vocab_size, 11);
  LlamaForCausalLM plain(config, 32), distilled(config, 32);
  const float weight = 0.5f;
  distilled.set_scorer_distillation(weight);
  const Tensor plain_loss = plain.loss(ids, targets);
  const Tensor distilled_loss = distilled.loss(ids, targets);
  const double bce = distilled.last_scorer_distillation_loss();
  ASSERT_TRUE(std::isfinite(bce));
  EXPECT_NEAR(bce, std::log(2.0), 0.05) << "a fresh scorer says σ ≈ 0.5 everywhere";
  EXPECT_NEAR(distilled_loss.item(), plain_loss.item() + weight * 2 * bce, 1e-4);
  const auto totals = distilled.take_scorer_distillation_totals();
  EXPECT_EQ(totals.calls, 1);
  EXPECT_NEAR(totals.added, weight * 2 * bce, 1e-5);
  EXPECT_EQ(distilled.take_scorer_distillation_totals().calls, 0) << "taking resets";
  autograd::backward(plain_loss);
  autograd::backward(distilled_loss);
  const auto plain_params = plain.named_parameters();
  std::map<std::string, Tensor> by_name(plain_params.begin(), plain_params.end());
  int scorer_changed = 0;
  for (const auto& [name, t] : distilled.named_parameters()) {
    const Tensor& other = by_name.at(name);
    const auto a = t.grad().defined() ? t.grad().to_vector() : std::vector<float>();
    const auto b = other.grad().defined() ? other.grad().to_vector() : std::vector<float>();
    double diff = 0.0;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) diff = std::max(diff, double(std::abs(a[i] - b[i])));
    if (name.find(".scorer.") != std::string::npos) {
      scorer_changed += diff > 1e-6 ? 1 : 0;
    } else {
      EXPECT_EQ(a.size(), b.size()) << name;
      EXPECT_LT(diff, 1e-6) << name;
    }
  }
  EXPECT_GT(scorer_changed, 0);
}

// With emphasis α the collected loss is the weighted mean Σ w·ℓ / Σ w, w_j = 1 + α·y_j², of the
// per-key BCE between the scorer's logits and the targets, times the distillation weight.
TEST(ScorerDistillation, TheEmphasisWeightsEachKeyByItsTarget) {
  PeakedLayer p;
  const std::int64_t T = 200, W = p.config.attention.window;
  core::Rng rng(4);
  const Tensor x = normal_tensor({1, T, p.config.hidden_size}, 1.0, rng);
  const auto y = p.layer.scorer_distillation_target(x).to_vector();
  for (const auto& [name, t] : p.layer.named_parameters())  // spread the fresh scorer's logits
    if (name.rfind("scorer.", 0) == 0 && name.find("weight") != std::string::npos)
      for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] *= 25.0f;
  std::vector<float> s;
  {
    autograd::NoGradGuard no_grad;
    s = p.layer.scorer()->forward(x).slice(1, 0, T - W).contiguous().to_vector();
  }
  const float weight = 2.0f, alpha = 30.0f;
  const auto collected = [&](float emphasis) {
    p.layer.set_scorer_distillation(weight);
    p.layer.set_scorer_distill_emphasis(emphasis);
    p.layer.begin_scorer_distillation();
    p.layer.forward(x, nullptr);
    return p.layer.end_scorer_distillation().item();
  };
  double total = 0.0, weight_sum = 0.0;
  for (std::size_t j = 0; j < y.size(); ++j) {
    const double w = 1.0 + alpha * double(y[j]) * y[j], sj = s[j];
    total += w * (std::max(sj, 0.0) + std::log1p(std::exp(-std::abs(sj))) - double(y[j]) * sj);
    weight_sum += w;
  }
  const double emphasised = collected(alpha);
  EXPECT_NEAR(emphasised, weight * total / weight_sum, 1e-4);
  EXPECT_GT(std::abs(emphasised - collected(0.0f)), 1e-3);  // the targets spread, so the weights matter
  EXPECT_THROW(p.layer.set_scorer_distill_emphasis(-1.0f), core::UserError);
}

TEST(ScorerDistillation, WorksOnTheDenseFallbackPathAndSkipsLocalLayers) {
  LlamaConfig config = sieve::testing::small_sparse_config();
  config.attention.layers = {"local", "sparse"};
  config.attention.dense_below = 4096;  // the sparse layer runs the fused dense kernel
  LlamaForCausalLM model(config, 33);
  EXPECT_EQ(model.scorer_layer_count(), 1);
  model.set_scorer_distillation(1.0f);
  const Tensor ids = token_ids(1, 150, config.vocab_size, 12), targets = token_ids(1, 150, config.vocab_size, 13);
  model.loss(ids, targets);
  EXPECT_TRUE(std::isfinite(model.last_scorer_distillation_loss()));
  // T <= W: no key has a distant query, nothing is added.
  const auto totals_before = model.take_scorer_distillation_totals();
  EXPECT_EQ(totals_before.calls, 1);
  const Tensor short_ids = token_ids(1, 64, config.vocab_size, 14), short_targets = token_ids(1, 64, config.vocab_size, 15);
  model.loss(short_ids, short_targets);
  EXPECT_EQ(model.take_scorer_distillation_totals().calls, 0);
}

TEST(ScorerDistillation, ActivationCheckpointingCountsItOnceWithTheSameGradients) {
  LlamaConfig config = sieve::testing::small_sparse_config();
  const Tensor ids = token_ids(1, 180, config.vocab_size, 16), targets = token_ids(1, 180, config.vocab_size, 17);
  LlamaForCausalLM plain(config, 34), checkpointed(config, 34);
  checkpointed.set_activation_checkpointing(true);
  for (LlamaForCausalLM* model : {&plain, &checkpointed}) model->set_scorer_distillation(1.0f);
  const Tensor a = plain.loss(ids, targets), b = checkpointed.loss(ids, targets);
  EXPECT_NEAR(a.item(), b.item(), 1e-5);
  EXPECT_NEAR(plain.last_scorer_distillation_loss(), checkpointed.last_scorer_distillation_loss(), 1e-6);
  autograd::backward(a);
  autograd::backward(b);
  EXPECT_EQ(checkpointed.take_scorer_distillation_totals().calls, 1) << "the recomputation adds nothing";
  const auto reference = plain.named_parameters();
  std::map<std::string, Tensor> by_name(reference.begin(), reference.end());
  for (const auto& [name, t] : checkpointed.named_parameters()) {
    ASSERT_EQ(t.grad().defined(), by_name.at(name).grad().defined()) << name;
    if (!t.grad().defined()) continue;
    const auto x = t.grad().to_vector(), y = by_name.at(name).grad().to_vector();
    double diff = 0.0, scale = 1e-6;
    for (std::size_t i = 0; i < x.size(); ++i) {
      diff = std::max(diff, double(std::abs(x[i] - y[i])));
      scale = std::max(scale, double(std::abs(y[i])));
    }
    EXPECT_LT(diff / scale, 1e-4) << name;
  }
}

}  // namespace
}  // namespace sieve::nn
