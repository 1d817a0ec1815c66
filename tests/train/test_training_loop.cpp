// The training loop drives a task that is not a language model — a linear regression on drawn
// data — through the same accumulation, checkpoints, resume and metrics stream as the LM.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <memory>

#include "sieve/autograd/grad_mode.h"
#include "sieve/nn/layers.h"
#include "sieve/ops/arithmetic.h"
#include "sieve/train/metrics_log.h"
#include "sieve/train/training_loop.h"
#include "temp_dir.h"

namespace sieve::train {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kInputs = 4;
constexpr std::int64_t kBatch = 16;

// y = x · w* + 0.5 for fixed w*; each micro-batch draws fresh x from the task's RNG, whose state
// is the data position a checkpoint keeps.
class RegressionTask : public TrainingTask {
 public:
  explicit RegressionTask(std::uint64_t seed) : init_rng_(seed), model_(kInputs, 1, true, 0.1, init_rng_), data_(seed + 1) {}

  nn::NamedTensors trained_parameters() const override {
    nn::NamedTensors named;
    for (auto& [name, p] : model_.named_parameters()) named.emplace_back("regression." + name, p);
    return named;
  }
  void set_training(bool training) override { model_.set_training(training); }
  ItemUnit item_unit() const override { return {"ex", "examples_per_s"}; }
  std::int64_t items_per_step(std::int64_t micro_batches) const override { return kBatch * micro_batches; }
  void begin_step(std::int64_t, std::int64_t micro_batches) override {
    batches_.clear();
    for (std::int64_t i = 0; i < micro_batches; ++i) batches_.push_back(draw(data_));
  }
  core::Tensor micro_batch_loss(std::size_t index, LossTerms& terms) override {
    const auto& [x, y] = batches_.at(index);
    core::Tensor loss = ops::mean(ops::square(ops::sub(model_.forward(x), y)));
    terms["mse"] = loss.item();
    return loss;
  }
  Evaluation evaluate() override {
    autograd::NoGradGuard no_grad;
    core::Rng fixed(99);  // the same validation set every time
    const auto [x, y] = draw(fixed);
    const double mse = ops::mean(ops::square(ops::sub(model_.forward(x), y))).item();
    return {mse, {{"val_rmse", "rmse", std::sqrt(mse), 3}}};
  }
  std::string data_state_key() const override { return "regression_data"; }
  nlohmann::json data_state() const override { return data_.state(); }
  void restore_data_state(const nlohmann::json& state) override { data_.set_state(state.get<core::Rng::State>()); }

  const nn::Linear& model() const { return model_; }

 private:
  static std::pair<core::Tensor, core::Tensor> draw(core::Rng& rng) {
    core::Tensor x = core::Tensor::empty({kBatch, kInputs}, core::DType::f32);
    core::Tensor y = core::Tensor::empty({kBatch, 1}, core::DType::f32);
    const float w[kInputs] = {1.0f, -2.0f, 0.5f, 3.0f};
    for (std::int64_t b = 0; b < kBatch; ++b) {
      float target = 0.5f;
      for (std::int64_t i = 0; i < kInputs; ++i) {
        const float v = static_cast<float>(rng.normal());
        x.data<float>()[b * kInputs + i] = v;
        target += w[i] * v;
      }
      y.data<float>()[b] = target;
    }
    return {x, y};
  }

  core::Rng init_rng_;
  nn::Linear model_;
  core::Rng data_;
  std::vector<std::pair<core::Tensor, core::Tensor>> batches_;
};

TrainingLoopOptions regression_options(std::int64_t steps, const fs::path& run_dir) {
  TrainingLoopOptions options;
  options.steps = steps;
  options.gradient_accumulation_steps = 2;
  options.schedule.peak_lr = 0.05f;
  options.schedule.warmup_steps = 2;
  options.log_interval = 5;
  options.run_dir = run_dir;
  return options;
}

std::vector<float> weights_of(const RegressionTask& task) {
  std::vector<float> out;
  for (const core::Tensor& p : task.model().parameters()) out.insert(out.end(), p.data<float>(), p.data<float>() + p.numel());
  return out;
}

TEST(TrainingLoop, TrainsATaskThatIsNotALanguageModel) {
  sieve::testing::TempDir dir;
  RegressionTask task(1);
  TrainingLoop loop(task, regression_options(150, dir / "run"), {{"task", "regression"}});
  const TrainResult result = loop.run();
  EXPECT_EQ(result.steps_done, 150);
  EXPECT_LT(result.final_val_loss, 0.01 * result.initial_val_loss);

  // The metrics stream carries the task's unit, terms and evaluation metrics.
  std::ifstream in(dir / "run" / kMetricsFile);
  bool saw_start = false, saw_train = false, saw_eval = false;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json record = nlohmann::json::parse(line);
    if (record["event"] == "start") saw_start = record.value("task", "") == "regression";
    if (record["event"] == "train") saw_train = record.contains("examples_per_s") && record.contains("mse");
    if (record["event"] == "eval") saw_eval = record.contains("val_rmse");
  }
  EXPECT_TRUE(saw_start);
  EXPECT_TRUE(saw_train);
  EXPECT_TRUE(saw_eval);
  EXPECT_TRUE(fs::exists(dir / "run" / "checkpoints"));
}

TEST(TrainingLoop, ResumesATaskBitIdentically) {
  sieve::testing::TempDir dir;
  RegressionTask straight(1);
  TrainingLoop(straight, regression_options(12, dir / "straight")).run();

  {
    RegressionTask first(1);
    TrainingLoop loop(first, regression_options(12, dir / "split"));
    std::atomic<bool> stop{false};
    loop.on_step = [&stop](std::int64_t step, const StepResult&) { stop = step == 5; };
    EXPECT_TRUE(loop.run(&stop).interrupted);
  }
  RegressionTask resumed(2);  // other initial weights and data position: the checkpoint restores both
  TrainingLoopOptions options = regression_options(12, dir / "split");
  options.resume = true;
  TrainingLoop loop(resumed, options);
  EXPECT_EQ(loop.steps_done(), 5);
  loop.run();
  EXPECT_EQ(weights_of(resumed), weights_of(straight));
}

TEST(TrainingLoop, RefusesACheckpointOfAnotherTask) {
  sieve::testing::TempDir dir;
  RegressionTask task(1);
  TrainingLoop(task, regression_options(3, dir / "run")).run();
  // The same run directory, resumed by a task whose data state has another key.
  class OtherKey : public RegressionTask {
   public:
    using RegressionTask::RegressionTask;
    std::string data_state_key() const override { return "other"; }
  } other(1);
  TrainingLoopOptions options = regression_options(6, dir / "run");
  options.resume = true;
  EXPECT_THROW(TrainingLoop(other, options), core::UserError);
}

}  // namespace
}  // namespace sieve::train
