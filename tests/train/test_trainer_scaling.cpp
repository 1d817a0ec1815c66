// The Trainer with dynamic loss scaling: an overflow skips the step (weights, optimizer and LR
// schedule untouched), halves the scale, and shows in the step results, the run totals, the
// metrics stream and the checkpoint; without scaling a non-finite gradient stops the run.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <set>

#include "sieve/train/checkpoint.h"
#include "train_test_util.h"

namespace sieve::train {
namespace {

using namespace testing;

// Writes an inf into the first gradient on the listed (1-based) steps of `trainer`.
GradientHook overflow_on(const Trainer& trainer, std::set<std::int64_t> steps) {
  return [&trainer, steps](const std::vector<core::Tensor>& parameters) {
    if (steps.count(trainer.steps_done() + 1) == 0) return;
    parameters.front().grad().data<float>()[0] = std::numeric_limits<float>::infinity();
  };
}

std::vector<nlohmann::json> read_metrics(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(TrainerLossScaling, ForcedOverflowSkipsTheStepAndHalvesTheScale) {
  sieve::testing::TempDir dir;
  const Shards shards = write_shards(dir.path());
  auto model = tiny_model();
  TrainerOptions options = small_options(6);
  options.loss_scaling = true;
  options.loss_scale_window = 2;
  options.run_dir = dir / "run";
  Trainer trainer(model, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val), options);
  trainer.gradient_hook = overflow_on(trainer, {2, 3});

  std::vector<StepResult> results;
  std::vector<std::vector<std::vector<float>>> weights;  // after each step
  trainer.on_step_result = [&](std::int64_t, const StepResult& r) {
    results.push_back(r);
    weights.push_back(snapshot(model));
  };
  const TrainResult run = trainer.run();

  // Scale used by each step: clean (tracker 1), inf → 32768, inf → 16384, clean (1),
  // clean (2 → grows to 32768), clean.
  const std::vector<float> scales = {65536, 65536, 32768, 16384, 16384, 32768};
  const std::vector<bool> skipped = {false, true, true, false, false, false};
  ASSERT_EQ(results.size(), 6u);
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].loss_scale, scales[i]) << "step " << i + 1;
    EXPECT_EQ(results[i].skipped, skipped[i]) << "step " << i + 1;
    EXPECT_EQ(std::isnan(results[i].grad_norm), skipped[i]) << "step " << i + 1;
  }
  EXPECT_EQ(weights[1], weights[0]) << "a skipped step leaves the weights alone";
  EXPECT_EQ(weights[2], weights[0]);
  EXPECT_NE(weights[3], weights[2]);
  // The schedule advances only on applied steps: steps 2–4 all use the LR of update #2.
  CosineSchedule schedule = options.schedule;
  schedule.total_steps = options.steps;
  const std::vector<float> lrs = {schedule.lr_at(0), schedule.lr_at(1), schedule.lr_at(1),
                                  schedule.lr_at(1), schedule.lr_at(2), schedule.lr_at(3)};
  for (std::size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i].lr, lrs[i]) << "step " << i + 1;

  EXPECT_EQ(run.steps_done, 6);
  EXPECT_EQ(run.applied_steps, 4);
  EXPECT_EQ(run.skipped_steps, 2);
  EXPECT_EQ(run.loss_scale, 32768.0f);
  EXPECT_EQ(trainer.optimizer().steps_taken(), 4);

  // The metrics stream shows the skips; the checkpoint holds the scaler.
  int train_lines = 0;
  std::int64_t skipped_sum = 0;
  for (const auto& line : read_metrics(options.run_dir / kMetricsFile)) {
    if (line.at("event") != "train") continue;
    ++train_lines;
    const std::size_t i = line.at("step").get<std::size_t>() - 1;
    EXPECT_EQ(line.at("loss_scale").get<float>(), scales[i]);
    EXPECT_EQ(line.at("skipped").get<std::int64_t>(), skipped[i] ? 1 : 0);
    EXPECT_EQ(line.at("grad_norm").is_null(), false) << "the last applied step's norm";
    skipped_sum += line.at("skipped").get<std::int64_t>();
  }
  EXPECT_EQ(train_lines, 6);
  EXPECT_EQ(skipped_sum, 2);
  const auto checkpoint = latest_checkpoint(options.run_dir / "checkpoints");
  ASSERT_TRUE(checkpoint.has_value());
  const LossScalerState saved = load_checkpoint(*checkpoint).state.at("loss_scaler").get<LossScalerState>();
  EXPECT_EQ(saved, trainer.loss_scaler().state());
  EXPECT_EQ(saved.scale, 32768.0f);
  EXPECT_EQ(saved.skipped_steps, 2);
}

TEST(TrainerLossScaling, AHugeScaleOverflowsForRealAndBacksOffUntilStepsApply) {
  sieve::testing::TempDir dir;
  const Shards shards = write_shards(dir.path());
  auto model = tiny_model();
  TrainerOptions options = small_options(200);
  options.loss_scaling = true;
  options.initial_loss_scale = std::ldexp(1.0f, 127);  // the largest power of two in f32
  Trainer trainer(model, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val), options);
  const auto before = snapshot(model);
  StepResult result = trainer.step();
  EXPECT_TRUE(result.skipped) << "gradients × 2^127 overflow f32";
  EXPECT_EQ(snapshot(model), before);
  EXPECT_EQ(trainer.loss_scaler().scale(), std::ldexp(1.0f, 126));
  int skipped = 1;
  while (result.skipped && skipped < 127) {
    const float scale = trainer.loss_scaler().scale();
    result = trainer.step();
    if (result.skipped) {
      ++skipped;
      EXPECT_EQ(trainer.loss_scaler().scale(), scale / 2);
    }
  }
  EXPECT_FALSE(result.skipped) << "some scale ≥ 1 trains cleanly";
  EXPECT_TRUE(std::isfinite(result.grad_norm));
  EXPECT_EQ(trainer.loss_scaler().skipped_steps(), skipped);
  EXPECT_EQ(trainer.optimizer().steps_taken(), 1);
  EXPECT_NE(snapshot(model), before);
}

TEST(TrainerLossScaling, WithoutScalingANonFiniteGradientStopsTheRun) {
  sieve::testing::TempDir dir;
  const Shards shards = write_shards(dir.path());
  auto model = tiny_model();
  Trainer trainer(model, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val), small_options(4));
  trainer.gradient_hook = overflow_on(trainer, {2});
  EXPECT_FALSE(trainer.step().skipped);
  const auto before = snapshot(model);
  EXPECT_THROW(trainer.step(), core::UserError);
  EXPECT_EQ(snapshot(model), before) << "the poisoned update was not applied";
}

TEST(TrainerLossScaling, AnOverflowAtTheMinimumScaleStopsTheRun) {
  sieve::testing::TempDir dir;
  const Shards shards = write_shards(dir.path());
  auto model = tiny_model();
  TrainerOptions options = small_options(4);
  options.loss_scaling = true;
  options.initial_loss_scale = 2.0f;
  options.min_loss_scale = 1.0f;
  Trainer trainer(model, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val), options);
  trainer.gradient_hook = overflow_on(trainer, {1, 2});
  EXPECT_TRUE(trainer.step().skipped);  // 2 → 1
  EXPECT_EQ(trainer.loss_scaler().scale(), 1.0f);
  EXPECT_THROW(trainer.step(), core::UserError);
}

}  // namespace
}  // namespace sieve::train
