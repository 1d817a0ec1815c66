// Training in every precision mode: the tiny model's loss falls in fp32, bf16, fp16 and tf32;
// fp16 with a loss scale past binary16's range overflows for real, skips the step and halves the
// scale; choose_precision names, measures, caches and rejects as documented.
#include <gtest/gtest.h>

#include <fstream>

#include "sieve/core/error.h"
#include "sieve/train/precision_choice.h"
#include "train_test_util.h"

namespace sieve::train {
namespace {

using namespace testing;

// A repeating token pattern the tiny model learns within a few steps.
Shards write_pattern_shards(const std::filesystem::path& dir) {
  std::vector<std::int32_t> tokens(4000);
  for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<std::int32_t>((i * 7) % 23 + 3);
  Shards shards{dir / "train.bin", dir / "val.bin"};
  data::write_token_shard(shards.train, tokens, kVocab, -1);
  data::write_token_shard(shards.val, std::vector<std::int32_t>(tokens.begin(), tokens.begin() + 600), kVocab, -1);
  return shards;
}

class PrecisionModes : public ::testing::TestWithParam<const char*> {};

TEST_P(PrecisionModes, TinyModelLossFalls) {
  sieve::testing::TempDir dir;
  const Shards shards = write_pattern_shards(dir.path());
  auto model = tiny_model();
  const PrecisionChoice choice = choose_precision(GetParam(), model.config(), 32);
  TrainerOptions options = small_options(12);
  options.schedule.peak_lr = 3e-3f;
  options.precision = choice.policy;
  options.loss_scaling = choice.loss_scaling;
  Trainer trainer(model, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val), options);
  std::vector<StepResult> results;
  trainer.on_step_result = [&](std::int64_t, const StepResult& r) { results.push_back(r); };
  const TrainResult run = trainer.run();
  ASSERT_EQ(results.size(), 12u);
  EXPECT_LT(results.back().loss, 0.8 * results.front().loss) << GetParam();
  EXPECT_LT(run.final_val_loss, 0.8 * run.initial_val_loss) << GetParam();
  EXPECT_EQ(run.skipped_steps, 0) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Modes, PrecisionModes, ::testing::Values("fp32", "bf16", "fp16", "tf32"));

TEST(PrecisionModes, Fp16OverflowSkipsTheStepAndHalvesTheScale) {
  sieve::testing::TempDir dir;
  const Shards shards = write_pattern_shards(dir.path());
  auto model = tiny_model();
  TrainerOptions options = small_options(3);
  options.precision = ops::default_policy(ops::ComputePrecision::f16);
  options.loss_scaling = true;
  // Scaled gradients of about 2^40 / 32 tokens overflow binary16 in the first backward GEMM —
  // no injected inf: the fp16 arithmetic itself overflows.
  options.initial_loss_scale = 0x1p40f;
  Trainer trainer(model, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val), options);
  std::vector<StepResult> results;
  trainer.on_step_result = [&](std::int64_t, const StepResult& r) { results.push_back(r); };
  trainer.run();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].skipped);
  EXPECT_EQ(results[0].loss_scale, 0x1p40f);
  EXPECT_EQ(results[1].loss_scale, 0x1p39f) << "the overflow halved the scale";
  EXPECT_EQ(trainer.optimizer().steps_taken() + trainer.loss_scaler().skipped_steps(), 3);
  // In fp32 the same scale is harmless: the overflow is fp16's.
  auto model32 = tiny_model();
  options.precision = {};
  Trainer trainer32(model32, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val), options);
  EXPECT_FALSE(trainer32.step().skipped);
}

TEST(PrecisionChoice, FixedModesAndTheirLossScaling) {
  const nn::LlamaConfig config = nn::preset_config("tiny");
  EXPECT_EQ(choose_precision("fp32", config, 64).policy, ops::PrecisionPolicy{});
  EXPECT_EQ(choose_precision("bf16", config, 64).policy, ops::default_policy(ops::ComputePrecision::bf16));
  const PrecisionChoice fp16 = choose_precision("fp16", config, 64);
  EXPECT_EQ(fp16.policy.compute, ops::ComputePrecision::f16);
  EXPECT_TRUE(fp16.loss_scaling);
  EXPECT_FALSE(choose_precision("bf16", config, 64).loss_scaling);
  EXPECT_EQ(choose_precision("tf32", config, 64).policy.compute, ops::ComputePrecision::tf32);
  EXPECT_THROW(choose_precision("fp8", config, 64), core::UserError);
  EXPECT_THROW(choose_precision("", config, 64), core::UserError);
}

TEST(PrecisionChoice, AutoMeasuresReportsAndCaches) {
  sieve::testing::TempDir dir;
  const nn::LlamaConfig config = nn::preset_config("tiny");
  PrecisionChoiceOptions options;
  options.cache_dir = dir / "cache";
  options.seconds_per_candidate = 0.01;
  const PrecisionChoice first = choose_precision("auto", config, 64, options);
  EXPECT_TRUE(first.measured);
  EXPECT_FALSE(first.from_cache);
  EXPECT_GT(first.f32_gflops, 0.0);
  EXPECT_NE(first.report.find("decision:"), std::string::npos) << first.report;
  EXPECT_NE(first.report.find("fp32:"), std::string::npos) << first.report;
  EXPECT_FALSE(first.loss_scaling);
  EXPECT_TRUE(first.policy.compute == ops::ComputePrecision::f32 || first.policy.compute == ops::ComputePrecision::bf16);
  if (first.policy.compute == ops::ComputePrecision::bf16) {
    EXPECT_GT(first.bf16_gflops, first.f32_gflops);
  }

  const PrecisionChoice second = choose_precision("auto", config, 64, options);
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(second.policy, first.policy);
  EXPECT_EQ(second.f32_gflops, first.f32_gflops);

  // A damaged cache is measured over, not trusted.
  for (const auto& entry : std::filesystem::directory_iterator(options.cache_dir)) std::ofstream(entry.path()) << "{oops";
  EXPECT_FALSE(choose_precision("auto", config, 64, options).from_cache);
  // Another model's shapes are another cache entry.
  EXPECT_FALSE(choose_precision("auto", nn::preset_config("demo"), 64, options).from_cache);
}

}  // namespace
}  // namespace sieve::train
