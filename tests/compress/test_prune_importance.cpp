// Each importance criterion ranks a unit whose output is zero (a dead head group, MLP channel or
// layer) below every live one; the plans keep what the flags say and refuse impossible targets.
#include <gtest/gtest.h>

#include <algorithm>

#include "prune_test_models.h"
#include "quantized_test_models.h"
#include "sieve/compress/prune/importance.h"
#include "sieve/compress/prune/prune_model.h"
#include "sieve/compress/prune/prune_plan.h"
#include "sieve/core/error.h"

namespace sieve::compress {
namespace {

using testing::prune_test_config;
using testing::prune_test_model;
using testing::zero_columns;

std::vector<core::Tensor> calibration_batches() {
  return {testing::random_ids(2, 24, 64, 11), testing::random_ids(2, 24, 64, 12)};
}

// The (layer, index) of the smallest score, and whether it is strictly below all others.
std::pair<std::pair<std::size_t, std::size_t>, bool> smallest(const std::vector<std::vector<double>>& scores) {
  std::pair<std::size_t, std::size_t> at{0, 0};
  for (std::size_t l = 0; l < scores.size(); ++l)
    for (std::size_t i = 0; i < scores[l].size(); ++i)
      if (scores[l][i] < scores[at.first][at.second]) at = {l, i};
  std::size_t ties = 0;
  for (const auto& layer : scores)
    ties += static_cast<std::size_t>(std::count(layer.begin(), layer.end(), scores[at.first][at.second]));
  return {at, ties == 1};
}

class ImportanceRanksDeadUnitsLast : public ::testing::TestWithParam<ImportanceCriterion> {};

TEST_P(ImportanceRanksDeadUnitsLast, HeadGroup) {
  const auto config = prune_test_config();
  const auto model = prune_test_model(config, 21);
  zero_columns(*model, "model.layers.2.self_attn.o_proj.weight", 0, 2 * config.head_dim());  // group 0
  const UnitImportance importance = measure_importance(*model, GetParam(), calibration_batches());
  const auto [at, strict] = smallest(importance.head_groups);
  EXPECT_EQ(at, (std::pair<std::size_t, std::size_t>{2, 0}));
  EXPECT_TRUE(strict);
}

TEST_P(ImportanceRanksDeadUnitsLast, MlpChannel) {
  const auto config = prune_test_config();
  const auto model = prune_test_model(config, 22);
  zero_columns(*model, "model.layers.1.mlp.down_proj.weight", 7, 8);
  const UnitImportance importance = measure_importance(*model, GetParam(), calibration_batches());
  const auto [at, strict] = smallest(importance.channels);
  EXPECT_EQ(at, (std::pair<std::size_t, std::size_t>{1, 7}));
  EXPECT_TRUE(strict);
}

TEST_P(ImportanceRanksDeadUnitsLast, Layer) {
  const auto config = prune_test_config();
  const auto model = prune_test_model(config, 23);
  zero_columns(*model, "model.layers.0.self_attn.o_proj.weight", 0, config.hidden_size);
  zero_columns(*model, "model.layers.0.mlp.down_proj.weight", 0, config.intermediate_size);
  const UnitImportance importance = measure_importance(*model, GetParam(), calibration_batches());
  const auto lowest = std::min_element(importance.layers.begin(), importance.layers.end());
  EXPECT_EQ(lowest - importance.layers.begin(), 0);
  EXPECT_LT(*lowest * 100.0, std::min(importance.layers[1], importance.layers[2]));
}

INSTANTIATE_TEST_SUITE_P(Criteria, ImportanceRanksDeadUnitsLast,
                         ::testing::Values(ImportanceCriterion::magnitude, ImportanceCriterion::activation,
                                           ImportanceCriterion::taylor),
                         [](const auto& info) { return std::string(importance_criterion_name(info.param)); });

TEST(PrunePlan, FixedTargetsKeepTheMostImportantUnits) {
  const auto config = prune_test_config();
  UnitImportance importance;
  importance.layers = {3.0, 1.0, 2.0};
  for (int l = 0; l < 3; ++l) {
    importance.head_groups.push_back({1.0, 2.0});
    std::vector<double> channels(24);
    for (int i = 0; i < 24; ++i) channels[i] = (i * 7) % 24;
    importance.channels.push_back(channels);
  }
  const PrunePlan plan = plan_fixed(config, importance, {.heads = 2, .ffn_keep = 0.25, .layers = 2});
  EXPECT_EQ(plan.layers, (std::vector<std::int64_t>{0, 2}));
  EXPECT_EQ(plan.head_groups[0], (std::vector<std::int64_t>{1}));
  ASSERT_EQ(plan.channels[1].size(), 6u);  // round(0.25 · 24)
  for (const std::int64_t ch : plan.channels[1]) EXPECT_GE((ch * 7) % 24, 18) << ch;
  const nn::LlamaConfig pruned = pruned_config(config, plan);
  EXPECT_EQ(pruned.intermediate_size, 6) << "a uniform MLP width is the top-level field";
  EXPECT_TRUE(pruned.pruning.intermediate_size.empty());
  EXPECT_EQ(pruned.pruning.num_attention_heads, (std::vector<std::int64_t>{2, 2}));
}

TEST(PrunePlan, TargetFlopsIsReachedGreedilyAndKeepsAGroupPerLayer) {
  const auto config = prune_test_config();
  const auto model = prune_test_model(config, 31);
  const UnitImportance importance = measure_importance(*model, ImportanceCriterion::magnitude, {});
  const double full = forward_flops(config, config.max_position_embeddings);
  for (const double fraction : {0.9, 0.7, 0.5}) {
    const PrunePlan plan = plan_for_flops(config, importance, fraction, std::nullopt);
    const nn::LlamaConfig pruned = pruned_config(config, plan);
    const double kept = forward_flops(pruned, config.max_position_embeddings) / full;
    EXPECT_LE(kept, fraction) << fraction;
    EXPECT_GT(kept, fraction - 0.1) << fraction;
    for (std::int64_t l = 0; l < pruned.num_hidden_layers; ++l) {
      EXPECT_GE(pruned.kv_heads(l), 1);
      EXPECT_GE(pruned.intermediate(l), 1);
    }
  }
  const PrunePlan two_layers = plan_for_flops(config, importance, 0.5, 2);
  EXPECT_EQ(two_layers.layers.size(), 2u);
}

TEST(PrunePlan, ScoresThatDoNotCompareAcrossLayersAreRankedWithinEachLayer) {
  const auto config = prune_test_config();
  UnitImportance importance;  // layer 0's units score 100x below the others', in the same pattern
  for (int l = 0; l < 3; ++l) {
    const double scale = l == 0 ? 0.01 : 1.0;
    importance.layers.push_back(scale);
    importance.head_groups.push_back({scale, 2 * scale});
    std::vector<double> channels(24);
    for (int i = 0; i < 24; ++i) channels[i] = scale * (1 + i);
    importance.channels.push_back(channels);
  }
  importance.comparable_across_layers = true;
  const nn::LlamaConfig global = pruned_config(config, plan_for_flops(config, importance, 0.8, std::nullopt));
  EXPECT_LT(global.intermediate(0), global.intermediate(1)) << "layer 0's small scores go first";
  importance.comparable_across_layers = false;
  const nn::LlamaConfig per_layer = pruned_config(config, plan_for_flops(config, importance, 0.8, std::nullopt));
  EXPECT_EQ(per_layer.intermediate(0), per_layer.intermediate(1)) << "the same pattern is cut alike in every layer";
}

TEST(PrunePlan, ImpossibleTargetsAreUserErrors) {
  const auto config = prune_test_config();
  const UnitImportance importance = measure_importance(*prune_test_model(config, 41), ImportanceCriterion::magnitude, {});
  const auto fixed = [&](FixedPruneTargets t) { return plan_fixed(config, importance, t); };
  EXPECT_THROW(fixed({.heads = 0}), core::UserError);
  EXPECT_THROW(fixed({.heads = 3}), core::UserError);  // not whole kv groups (G = 2)
  EXPECT_THROW(fixed({.heads = 6}), core::UserError);
  EXPECT_THROW(fixed({.ffn_keep = 0.0}), core::UserError);
  EXPECT_THROW(fixed({.ffn_keep = 1.5}), core::UserError);
  EXPECT_THROW(fixed({.layers = 0}), core::UserError);
  EXPECT_THROW(fixed({.layers = 4}), core::UserError);
  EXPECT_THROW(plan_for_flops(config, importance, 0.0, std::nullopt), core::UserError);
  EXPECT_THROW(plan_for_flops(config, importance, 1.2, std::nullopt), core::UserError);
  EXPECT_THROW(plan_for_flops(config, importance, 0.05, std::nullopt), core::UserError);  // below the minimum
  EXPECT_THROW(measure_importance(*prune_test_model(config, 41), ImportanceCriterion::taylor, {}), core::UserError);
}

}  // namespace
}  // namespace sieve::compress
