// Resuming is exact: N steps straight equal N/2 steps, a checkpoint, a new Trainer that resumes,
// and N/2 more — bit-identical losses, weights and scaler state. And a process killed (SIGKILL)
// in the middle of saving checkpoints leaves the previous complete one loadable.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>

#include "sieve/train/checkpoint.h"
#include "train_test_util.h"

namespace sieve::train {
namespace {

using namespace testing;
namespace fs = std::filesystem;

constexpr std::int64_t kSteps = 6;

// Gradient accumulation and loss scaling on, with an overflow forced at step 2, so the loader,
// optimizer, schedule and scaler state all have to come back for the losses to match.
TrainerOptions resume_options(const fs::path& run_dir) {
  TrainerOptions options = small_options(kSteps);
  options.gradient_accumulation_steps = 2;
  options.loss_scaling = true;
  options.loss_scale_window = 2;
  options.run_dir = run_dir;
  options.seed = 3;
  return options;
}

struct Recorded {
  std::vector<double> losses;
  std::vector<bool> skipped;
};

void record_into(Trainer& trainer, Recorded& out) {
  trainer.gradient_hook = [&trainer](const std::vector<core::Tensor>& parameters) {
    if (trainer.steps_done() + 1 == 2) parameters.back().grad().data<float>()[0] = std::nanf("");
  };
  trainer.on_step_result = [&out](std::int64_t, const StepResult& r) {
    out.losses.push_back(r.loss);
    out.skipped.push_back(r.skipped);
  };
}

TEST(Resume, HalfThenResumeGivesBitIdenticalLosses) {
  sieve::testing::TempDir dir;
  const Shards shards = write_shards(dir.path());

  Recorded straight;
  auto straight_model = tiny_model();
  Trainer straight_trainer(straight_model, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val),
                           resume_options(dir / "straight"));
  record_into(straight_trainer, straight);
  straight_trainer.run();
  ASSERT_EQ(straight.losses.size(), static_cast<std::size_t>(kSteps));
  EXPECT_EQ(straight.skipped, (std::vector<bool>{false, true, false, false, false, false}));

  Recorded split;
  {
    auto model = tiny_model();
    Trainer first(model, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val),
                  resume_options(dir / "split"));
    record_into(first, split);
    std::atomic<bool> stop{false};
    first.on_step = [&stop](std::int64_t step, double) { stop = step == kSteps / 2; };
    const TrainResult half = first.run(&stop);  // stops after step 3 and checkpoints
    EXPECT_TRUE(half.interrupted);
    EXPECT_EQ(half.steps_done, kSteps / 2);
  }
  auto resumed_model = tiny_model();
  TrainerOptions options = resume_options(dir / "split");
  options.resume = true;
  Trainer second(resumed_model, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val), options);
  EXPECT_EQ(second.steps_done(), kSteps / 2);
  record_into(second, split);
  second.run();

  ASSERT_EQ(split.losses.size(), straight.losses.size());
  for (std::size_t i = 0; i < split.losses.size(); ++i)
    EXPECT_EQ(split.losses[i], straight.losses[i]) << "step " << i + 1 << " differs after resuming";
  EXPECT_EQ(split.skipped, straight.skipped);
  EXPECT_EQ(snapshot(resumed_model), snapshot(straight_model));
  EXPECT_EQ(second.loss_scaler().state(), straight_trainer.loss_scaler().state());
  EXPECT_EQ(second.optimizer().steps_taken(), straight_trainer.optimizer().steps_taken());
}

// A checkpoint whose every model value equals its step, so a loaded one can be checked whole.
CheckpointContents numbered(std::int64_t step, core::Tensor& weights) {
  std::fill_n(weights.data<float>(), weights.numel(), static_cast<float>(step));
  CheckpointContents contents;
  contents.step = step;
  contents.state = {{"marker", step}};
  contents.model = {{"w", weights}};
  contents.optimizer = {{"exp_avg.w", weights}};
  return contents;
}

void expect_consistent(const fs::path& checkpoint) {
  const CheckpointContents loaded = load_checkpoint(checkpoint);
  EXPECT_EQ(loaded.state.at("marker").get<std::int64_t>(), loaded.step);
  ASSERT_EQ(loaded.model.size(), 1u);
  const auto values = loaded.model[0].second.to_vector();
  EXPECT_TRUE(std::all_of(values.begin(), values.end(), [&](float v) { return v == static_cast<float>(loaded.step); }))
      << checkpoint << " holds values of another step";
  EXPECT_EQ(loaded.optimizer.at(0).second.to_vector(), values);
}

// Whether a save is in progress (or was cut short). Tolerates entries vanishing meanwhile.
bool has_partial(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".partial") return true;
  return false;
}

TEST(Resume, KillDuringSaveLeavesThePreviousCheckpointLoadable) {
  sieve::testing::TempDir dir;
  const fs::path checkpoints = dir / "checkpoints";
  // 16 MiB per file: a save takes long enough that a kill usually lands inside one. Allocated
  // before fork so the child does no allocation and starts no threads.
  core::Tensor weights = core::Tensor::zeros({4 << 20});
  save_checkpoint(checkpoints, numbered(1, weights), 2);

  int killed_mid_save = 0;
  std::int64_t last_seen = 1;
  for (int round = 0; round < 10 && killed_mid_save < 2; ++round) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {  // never returns into the test framework
      try {
        for (std::int64_t step = last_seen + 1;; ++step) save_checkpoint(checkpoints, numbered(step, weights), 2);
      } catch (...) {
        ::_exit(1);
      }
    }
    // Let it complete at least one new checkpoint (judged by name only: the child may delete
    // an old one while we look).
    const std::string seen_name = latest_checkpoint(checkpoints)->filename().string();
    while (true) {
      const auto latest = latest_checkpoint(checkpoints);
      if (latest && latest->filename().string() > seen_name) break;
      int status = 0;
      ASSERT_EQ(::waitpid(child, &status, WNOHANG), 0) << "the saving child died on its own";
      ::usleep(1000);
    }
    // Then catch it writing the next one.
    while (!has_partial(checkpoints)) {
      int status = 0;
      ASSERT_EQ(::waitpid(child, &status, WNOHANG), 0) << "the saving child died on its own";
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status));
    if (has_partial(checkpoints)) ++killed_mid_save;

    const auto latest = latest_checkpoint(checkpoints);
    ASSERT_TRUE(latest.has_value());
    expect_consistent(*latest);
    const std::int64_t step = load_checkpoint(*latest).step;
    EXPECT_GT(step, last_seen);
    last_seen = step;
  }
  // Kills landing between two saves prove nothing; make sure some landed inside one.
  EXPECT_GE(killed_mid_save, 1);
  // A new save after the crash cleans up and completes.
  save_checkpoint(checkpoints, numbered(last_seen + 1, weights), 2);
  expect_consistent(*latest_checkpoint(checkpoints));
  EXPECT_EQ(load_checkpoint(*latest_checkpoint(checkpoints)).step, last_seen + 1);
}

}  // namespace
}  // namespace sieve::train
