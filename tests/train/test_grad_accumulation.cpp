// Gradient accumulation: N micro-batches of B rows give the same gradient and update as one
// batch of N·B rows (fp32: within 1e-5 relative), with or without loss scaling, directly through
// optimizer_step and through the Trainer.
#include <gtest/gtest.h>

#include <vector>

#include "sieve/train/train_step.h"
#include "train_test_util.h"

namespace sieve::train {
namespace {

using core::Tensor;
using namespace testing;

constexpr std::int64_t B = 2, T = 16, N = 4;

// Adam's update is g / (sqrt(v) + eps): for elements whose gradient is near eps it amplifies
// the last-bit differences of any two summation orders (the gradients themselves agree to
// ~2e-7 here, but with eps = 1e-8 a few tiny-gradient elements of layer 1 move the weights of
// their tensor by ~1e-5 relative). eps = 1e-6 keeps the update well conditioned, so the
// weights test the accumulation rather than the optimizer's conditioning.
constexpr AdamWOptions kAdam{.eps = 1e-6f};

Tensor ids_tensor(const std::vector<std::int32_t>& tokens, std::int64_t rows, std::int64_t offset) {
  std::vector<std::int64_t> values(static_cast<std::size_t>(rows * T));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = tokens[static_cast<std::size_t>(offset) + i];
  return Tensor::from_vector(values, {rows, T});
}

// Row r of the big batch is row r % B of micro-batch r / B.
struct Data {
  data::Batch big;
  std::vector<data::Batch> micro;
};
Data make_data(std::uint64_t seed) {
  const auto tokens = random_tokens(static_cast<std::size_t>(N * B * T + 1), seed);
  Data d;
  d.big = {ids_tensor(tokens, N * B, 0), ids_tensor(tokens, N * B, 1)};
  for (std::int64_t m = 0; m < N; ++m)
    d.micro.push_back({ids_tensor(tokens, B, m * B * T), ids_tensor(tokens, B, m * B * T + 1)});
  return d;
}

void expect_all_close(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b,
                      double tolerance, const char* what) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_LE(relative_difference(a[i], b[i]), tolerance) << what << " of parameter " << i;
}

std::vector<std::vector<float>> gradients(const nn::Module& model) {
  std::vector<std::vector<float>> out;
  for (const auto& p : model.parameters()) out.push_back(p.grad().to_vector());
  return out;
}

class GradAccumulation : public ::testing::TestWithParam<bool> {};

TEST_P(GradAccumulation, MicroBatchesEqualOneLargeBatch) {
  const bool scaling = GetParam();
  auto big_model = tiny_model();
  auto accum_model = tiny_model();
  const auto initial = snapshot(big_model);
  AdamW big_opt(big_model.named_parameters(), kAdam);
  AdamW accum_opt(accum_model.named_parameters(), kAdam);
  LossScaler big_scaler({.enabled = scaling}), accum_scaler({.enabled = scaling});

  for (std::uint64_t step = 0; step < 2; ++step) {
    const Data d = make_data(100 + step);
    const StepResult one = optimizer_step(big_model, big_opt, big_scaler, {&d.big, 1}, 1e-3f, 1.0);
    const StepResult many = optimizer_step(accum_model, accum_opt, accum_scaler, d.micro, 1e-3f, 1.0);
    ASSERT_FALSE(one.skipped);
    ASSERT_FALSE(many.skipped);
    EXPECT_NEAR(many.loss, one.loss, 1e-6 * one.loss);
    EXPECT_NEAR(many.grad_norm, one.grad_norm, 1e-5 * one.grad_norm);
    EXPECT_EQ(one.tokens, many.tokens);
    EXPECT_EQ(many.loss_scale, scaling ? 65536.0f : 1.0f);
    expect_all_close(gradients(big_model), gradients(accum_model), 1e-5, "clipped gradient");
    expect_all_close(snapshot(big_model), snapshot(accum_model), 1e-5, "weights");
  }
  EXPECT_EQ(accum_opt.steps_taken(), 2);
  // The comparison is not vacuous: the weights moved.
  EXPECT_GT(relative_difference(initial[0], snapshot(accum_model)[0]), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(LossScaling, GradAccumulation, ::testing::Bool());

TEST(GradAccumulation, OneMicroBatchAloneGivesADifferentGradient) {
  // Guards the test above: one micro-batch on its own gives a gradient of different size
  // than the accumulated mean, so equal results really come from averaging.
  auto model = tiny_model();
  AdamW opt(model.named_parameters(), {});
  LossScaler scaler;
  const Data d = make_data(100);
  const StepResult one = optimizer_step(model, opt, scaler, {&d.micro[0], 1}, 0.0f, 0.0);
  const StepResult all = optimizer_step(model, opt, scaler, d.micro, 0.0f, 0.0);
  EXPECT_GT(std::abs(one.grad_norm - all.grad_norm), 1e-3 * all.grad_norm);
}

TEST(GradAccumulation, TrainerWithAccumulationMatchesALargerBatch) {
  sieve::testing::TempDir dir;
  const Shards shards = write_shards(dir.path());
  auto big_model = tiny_model();
  auto accum_model = tiny_model();
  TrainerOptions big = small_options(2);
  big.batch = B * N;
  big.adamw = kAdam;
  TrainerOptions accum = small_options(2);
  accum.adamw = kAdam;
  accum.batch = B;
  accum.gradient_accumulation_steps = N;
  Trainer big_trainer(big_model, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val), big);
  Trainer accum_trainer(accum_model, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val), accum);
  for (int step = 0; step < 2; ++step) {
    const StepResult one = big_trainer.step();
    const StepResult many = accum_trainer.step();
    EXPECT_NEAR(many.loss, one.loss, 1e-6 * one.loss);
    EXPECT_EQ(many.lr, one.lr);
    EXPECT_EQ(many.tokens, B * N * T);
    expect_all_close(snapshot(big_model), snapshot(accum_model), 1e-5, "weights");
  }
  EXPECT_EQ(accum_trainer.optimizer().steps_taken(), 2);
}

}  // namespace
}  // namespace sieve::train
