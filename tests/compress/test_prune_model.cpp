// Pruning slices weights exactly: removing a head group, an MLP channel or a layer gives the
// logits of the source model with that unit's output zeroed, and the pruned model runs every
// path a model runs (KV cache, packed forward, generation, save / load, quantization).
#include <gtest/gtest.h>

#include "close_tensors.h"
#include "prune_test_models.h"
#include "quantized_test_models.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/compress/prune/prune_model.h"
#include "sieve/compress/quantization_plan.h"
#include "sieve/compress/quantize_model.h"
#include "sieve/compress/quantized_model_dir.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/model_layout.h"
#include "sieve/nn/generation.h"
#include "temp_dir.h"

namespace sieve::compress {
namespace {

using core::Tensor;
using testing::prune_test_config;
using testing::prune_test_model;
using testing::random_ids;
using testing::zero_columns;

// The logits of `pruned` and of `masked` agree within 1e-5, and differ from `original`'s.
void expect_pruned_equals_masked(const nn::LlamaForCausalLM& pruned, const nn::LlamaForCausalLM& masked,
                                 const nn::LlamaForCausalLM& original) {
  autograd::NoGradGuard no_grad;
  const Tensor ids = random_ids(2, 20, pruned.config().vocab_size, 5);
  const Tensor expected = masked.forward(ids);
  EXPECT_LE(testing::max_abs_difference(pruned.forward(ids), expected), 1e-5);
  EXPECT_GT(testing::max_abs_difference(original.forward(ids), expected), 1e-3) << "the unit must matter";
}

TEST(PruneModel, RemovingAHeadGroupEqualsZeroingItsOutputColumns) {
  const auto config = prune_test_config();
  const auto model = prune_test_model(config, 1), masked = prune_test_model(config, 1);
  PrunePlan plan = full_plan(config);
  plan.head_groups[1] = {0};  // layer 1 drops kv head 1 and its query heads 2 and 3
  const std::int64_t D = config.head_dim();
  zero_columns(*masked, "model.layers.1.self_attn.o_proj.weight", 2 * D, 4 * D);
  const auto pruned = prune_model(*model, plan);
  EXPECT_EQ(pruned->config().heads(1), 2);
  EXPECT_EQ(pruned->config().kv_heads(1), 1);
  EXPECT_EQ(pruned->config().heads(0), 4);
  expect_pruned_equals_masked(*pruned, *masked, *model);
}

TEST(PruneModel, RemovingAnMlpChannelEqualsZeroingItsDownColumn) {
  const auto config = prune_test_config();
  const auto model = prune_test_model(config, 2), masked = prune_test_model(config, 2);
  PrunePlan plan = full_plan(config);
  plan.channels[0].erase(plan.channels[0].begin() + 5);
  zero_columns(*masked, "model.layers.0.mlp.down_proj.weight", 5, 6);
  const auto pruned = prune_model(*model, plan);
  EXPECT_EQ(pruned->config().intermediate(0), 23);
  EXPECT_EQ(pruned->config().intermediate(1), 24);
  expect_pruned_equals_masked(*pruned, *masked, *model);
}

TEST(PruneModel, RemovingALayerEqualsZeroingItsResidualContribution) {
  const auto config = prune_test_config();
  const auto model = prune_test_model(config, 3), masked = prune_test_model(config, 3);
  PrunePlan plan = full_plan(config);
  plan.layers = {0, 2};
  plan.head_groups.erase(plan.head_groups.begin() + 1);
  plan.channels.erase(plan.channels.begin() + 1);
  zero_columns(*masked, "model.layers.1.self_attn.o_proj.weight", 0, config.hidden_size);
  zero_columns(*masked, "model.layers.1.mlp.down_proj.weight", 0, config.intermediate_size);
  const auto pruned = prune_model(*model, plan);
  EXPECT_EQ(pruned->config().num_hidden_layers, 2);
  EXPECT_FALSE(pruned->config().pruned()) << "dropping layers alone keeps a plain config";
  expect_pruned_equals_masked(*pruned, *masked, *model);
}

TEST(PruneModel, DroppingLayersTrimsThePerLayerAttentionKinds) {
  nn::LlamaConfig config = prune_test_config();
  config.attention.layers = {"dense", "local", "dense"};
  PrunePlan plan = full_plan(config);
  plan.layers = {1, 2};
  plan.head_groups.pop_back();
  plan.channels.pop_back();
  const nn::LlamaConfig pruned = pruned_config(config, plan);
  EXPECT_EQ(pruned.attention.layers, (std::vector<std::string>{"local", "dense"}));
}

// A model with different widths in every layer.
std::unique_ptr<nn::LlamaForCausalLM> uneven_model() {
  const auto config = prune_test_config();
  const auto model = prune_test_model(config, 4);
  PrunePlan plan = full_plan(config);
  plan.head_groups[0] = {1};
  plan.channels[0] = {0, 3, 7, 8, 20};
  plan.channels[2] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  return prune_model(*model, plan);
}

TEST(PruneModel, ParameterCountIsWhatTheConfigSays) {
  const auto pruned = uneven_model();
  const nn::LlamaConfig& c = pruned->config();
  EXPECT_EQ(c.pruning.num_attention_heads, (std::vector<std::int64_t>{2, 4, 4}));
  EXPECT_EQ(c.pruning.num_key_value_heads, (std::vector<std::int64_t>{1, 2, 2}));
  EXPECT_EQ(c.pruning.intermediate_size, (std::vector<std::int64_t>{5, 24, 11}));
  EXPECT_EQ(pruned->parameter_count(), io::llama_footprint(c, "test").parameters);
  std::map<std::string, core::Shape> expected;
  for (const auto& spec : io::llama_parameters(c)) expected.emplace(spec.name, spec.shape);
  const auto built = pruned->named_parameters();
  ASSERT_EQ(built.size(), expected.size());
  for (const auto& [name, tensor] : built) EXPECT_EQ(tensor.shape(), expected.at(name)) << name;
}

TEST(PruneModel, PrunedModelDecodesWithItsCacheAndPacked) {
  const auto pruned = uneven_model();
  autograd::NoGradGuard no_grad;
  const Tensor ids = random_ids(1, 12, pruned->config().vocab_size, 9);
  const Tensor full = pruned->forward(ids);  // [1, 12, V]
  nn::KvCache cache = pruned->make_cache(1, 32);
  pruned->next_token_logits(ids.slice(1, 0, 8).contiguous(), &cache);
  for (std::int64_t t = 8; t < 12; ++t) {
    const Tensor step = pruned->next_token_logits(ids.slice(1, t, t + 1).contiguous(), &cache);
    EXPECT_LE(testing::max_abs_difference(step, full.slice(1, t, t + 1).contiguous().view({1, -1})), 1e-4) << t;
  }
  nn::KvCache a = pruned->make_cache(1, 32), b = pruned->make_cache(1, 32);
  std::vector<nn::KvCache*> caches{&a, &b};
  const std::vector<std::int64_t> lengths{12, 5};
  const Tensor packed_ids = core::Tensor::empty({1, 17}, core::DType::i64);
  for (std::int64_t i = 0; i < 12; ++i) packed_ids.data<std::int64_t>()[i] = ids.data<std::int64_t>()[i];
  for (std::int64_t i = 0; i < 5; ++i) packed_ids.data<std::int64_t>()[12 + i] = ids.data<std::int64_t>()[i];
  const Tensor packed = pruned->next_token_logits_packed(packed_ids, lengths, caches);  // [2, V]
  EXPECT_LE(testing::max_abs_difference(packed.slice(0, 0, 1).contiguous().view({-1}),
                                        full.slice(1, 11, 12).contiguous().view({-1})),
            1e-4);
  EXPECT_LE(testing::max_abs_difference(packed.slice(0, 1, 2).contiguous().view({-1}),
                                        full.slice(1, 4, 5).contiguous().view({-1})),
            1e-4);
  nn::GenerationOptions options;
  options.max_new_tokens = 6;
  options.sampling.temperature = 0.0f;
  EXPECT_EQ(nn::generate(*pruned, {1, 2, 3}, options).size(), 6u);
}

TEST(PruneModel, PrunedModelSavesLoadsAndQuantizes) {
  const auto pruned = uneven_model();
  sieve::testing::TempDir dir;
  io::save_model(*pruned, dir / "pruned");
  const auto loaded = io::load_model(dir / "pruned");
  EXPECT_EQ(loaded->config().pruning.intermediate_size, pruned->config().pruning.intermediate_size);
  autograd::NoGradGuard no_grad;
  const Tensor ids = random_ids(1, 16, pruned->config().vocab_size, 10);
  const Tensor expected = pruned->forward(ids);
  EXPECT_EQ(testing::max_abs_difference(loaded->forward(ids), expected), 0.0);

  for (const Precision precision : {Precision::int8, Precision::int4}) {
    auto quantized = io::load_model(dir / "pruned");
    QuantizationPlan plan = uniform_plan(*quantized, precision);
    plan.group_size = 32;
    quantize_model(*quantized, plan, nullptr);
    const auto name = std::string(precision_name(precision));
    save_quantized_model(*quantized, dir / name);
    const auto reloaded = load_quantized_model(dir / name);
    // Close to the f32 logits (INT4 of these wide random weights loses more), and the same after reloading.
    EXPECT_LT(testing::max_abs_difference(reloaded->forward(ids), expected), precision == Precision::int8 ? 0.2 : 2.0)
        << name;
    EXPECT_EQ(testing::max_abs_difference(reloaded->forward(ids), quantized->forward(ids)), 0.0) << name;
  }
}

}  // namespace
}  // namespace sieve::compress
