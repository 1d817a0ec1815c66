#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "apps/dashboard/jobs/command_args.h"
#include "apps/dashboard/jobs/job_manager.h"
#include "apps/dashboard/jobs/try_it.h"
#include "apps/dashboard/runs/run_path.h"
#include "jobs_test_runs.h"
#include "sieve/core/error.h"

namespace sieve::dashboard {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::eventually;
using testing::JobsRunsRoot;
using testing::last_train_step;
using testing::read_json;
using testing::read_text;

std::vector<std::string> recorded_args(const fs::path& run_dir) {
  return read_json(run_dir / "job.json")["command"]["args"].get<std::vector<std::string>>();
}

TEST(TryVerdict, JudgesEachMeasureInItsDirectionOutsideTheNoiseBand) {
  EXPECT_EQ(try_verdict("val_loss", 2.0, 1.95), "better");
  EXPECT_EQ(try_verdict("val_loss", 2.0, 2.05), "worse");
  EXPECT_EQ(try_verdict("val_loss", 2.0, 2.015), "no clear difference");
  EXPECT_EQ(try_verdict("tokens_per_s", 1000, 1100), "better");
  EXPECT_EQ(try_verdict("tokens_per_s", 1000, 900), "worse");
  EXPECT_EQ(try_verdict("tokens_per_s", 1000, 1040), "no clear difference");
  EXPECT_EQ(try_verdict("peak_rss_mb", 100, 80), "better");
  EXPECT_EQ(try_verdict("peak_rss_mb", 100, 103), "no clear difference");
  EXPECT_EQ(try_verdict("skipped_total", 0, 3), "worse");
  EXPECT_EQ(try_verdict("skipped_total", 5, 0), "better");
  EXPECT_EQ(try_verdict("skipped_total", 2, 2), "no clear difference");
}

TEST(CommandArgs, ReplacesDropsAndAddsFlags) {
  const std::vector<std::string> args{"--data", "a.txt", "b.txt", "--lr=0.1", "--resume", "--warmup", "-1"};
  EXPECT_EQ(flag_value(args, "--data"), "a.txt");
  EXPECT_EQ(flag_value(args, "--lr"), "0.1");
  EXPECT_EQ(flag_value(args, "--resume"), "");
  EXPECT_EQ(flag_value(args, "--warmup"), "-1");
  EXPECT_FALSE(has_flag(args, "--l"));
  EXPECT_EQ(without_flag(args, "--data"), (std::vector<std::string>{"--lr=0.1", "--resume", "--warmup", "-1"}));
  EXPECT_EQ(with_flag(args, "--lr", {"0.2"}),
            (std::vector<std::string>{"--data", "a.txt", "b.txt", "--lr", "0.2", "--resume", "--warmup", "-1"}));
  EXPECT_EQ(with_flag(args, "--data", {"c.txt"}),
            (std::vector<std::string>{"--data", "c.txt", "--lr=0.1", "--resume", "--warmup", "-1"}));
  EXPECT_EQ(with_flag(args, "--resume", {}), args);
  EXPECT_EQ(with_flag({"--bf16"}, "--steps", {"5"}), (std::vector<std::string>{"--bf16", "--steps", "5"}));
}

class TryItTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    runs_ = new JobsRunsRoot();
    JobManager jobs(runs_->root(), SIEVE_BINARY, 2, testing::kTestThreads);
    const std::string run = jobs.launch(JobsRunsRoot::tiny_form("base", 20));
    ASSERT_TRUE(jobs.wait_until_ended(run, 120s));
    ASSERT_EQ(jobs.status(run)->state, "finished");
  }
  static void TearDownTestSuite() {
    delete runs_;
    runs_ = nullptr;
  }
  static fs::path root() { return fs::canonical(runs_->root()); }

  static inline JobsRunsRoot* runs_ = nullptr;
};

TEST_F(TryItTest, BaselineAndVariantRunOneAfterTheOtherAndAreJudged) {
  JobManager jobs(root(), SIEVE_BINARY, 2, testing::kTestThreads);
  TryItManager tries(jobs);
  const std::string id = tries.try_suggestion("base", "lower-lr", {{"--lr", "0.00001"}}, "val_loss", 30);
  EXPECT_EQ(id, "base.try-lower-lr-1");
  const std::string again =
      tries.try_suggestion("base", "checkpointing", {{"--activation-checkpointing", ""}}, "tokens_per_s", 30);
  EXPECT_EQ(again, "base.try-checkpointing-1");
  json trial;
  ASSERT_TRUE(eventually([&] { return (trial = tries.trial(again))["state"] == "done"; }, 120s)) << trial.dump(2);
  trial = tries.trial(id);
  ASSERT_EQ(trial["state"], "done") << trial.dump(2);

  const fs::path baseline = root() / id / "baseline";
  const fs::path variant = root() / id / "variant";
  EXPECT_EQ(last_train_step(baseline), 30);
  EXPECT_EQ(last_train_step(variant), 30);
  // One after the other, each with the original run's tokenizer instead of training one.
  EXPECT_LE(read_json(baseline / "job.json")["ended_unix_time"].get<double>(),
            read_json(variant / "job.json")["started_unix_time"].get<double>());
  EXPECT_EQ(read_text(baseline / "train.log").find("training a"), std::string::npos);
  EXPECT_EQ(flag_value(recorded_args(baseline), "--tokenizer"), (root() / "base" / "tokenizer.model").string());
  EXPECT_EQ(flag_value(recorded_args(baseline), "--lr"), std::nullopt);
  EXPECT_EQ(flag_value(recorded_args(variant), "--lr"), "0.00001");
  EXPECT_EQ(flag_value(recorded_args(variant), "--steps"), "30");
  EXPECT_EQ(flag_value(recorded_args(variant), "--out"), variant.string());

  // A learning rate 100 times lower learns visibly less in 30 steps.
  EXPECT_EQ(trial["verdict"], "worse") << trial.dump(2);
  const double before = trial["baseline"]["val_loss"];
  const double after = trial["variant"]["val_loss"];
  EXPECT_DOUBLE_EQ(trial["difference"].get<double>(), after - before);
  EXPECT_NEAR(trial["relative"].get<double>(), (after - before) / before, 1e-12);
  for (const char* measure : {"tokens_per_s", "skipped_total", "peak_rss_mb"}) {
    EXPECT_TRUE(trial["baseline"][measure].is_number()) << measure;
    EXPECT_TRUE(trial["variant"][measure].is_number()) << measure;
  }
  EXPECT_EQ(read_json(root() / id / "try.json")["verdict"], "worse");

  const json checkpointing = tries.trial(again);
  EXPECT_TRUE(has_flag(recorded_args(root() / again / "variant"), "--activation-checkpointing"));
  EXPECT_FALSE(has_flag(recorded_args(root() / again / "baseline"), "--activation-checkpointing"));
  EXPECT_TRUE(checkpointing["verdict"] == "better" || checkpointing["verdict"] == "worse" ||
              checkpointing["verdict"] == "no clear difference");
  EXPECT_EQ(tries.trials()["trials"].size(), 2u);
  EXPECT_EQ(tries.trials()["trials"][0]["id"], id);

  // A restarted dashboard lists them with their results.
  const TryItManager restarted(jobs);
  const json listed = restarted.trials()["trials"];
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0]["id"], id);
  EXPECT_EQ(listed[0]["verdict"], "worse");
  EXPECT_EQ(restarted.trial(again)["state"], "done");
}

TEST_F(TryItTest, RefusesBadRequests) {
  JobManager jobs(root(), SIEVE_BINARY, 2, testing::kTestThreads);
  TryItManager tries(jobs);
  const json lower = {{"--lr", "0.0001"}};
  EXPECT_THROW(tries.try_suggestion("nowhere", "r", lower, "val_loss", 10), RunNotFound);
  EXPECT_THROW(tries.try_suggestion("../base", "r", lower, "val_loss", 10), core::UserError);
  EXPECT_THROW(tries.try_suggestion("base", "../r", lower, "val_loss", 10), core::UserError);
  EXPECT_THROW(tries.try_suggestion("base", "r", lower, "loss", 10), core::UserError);
  EXPECT_THROW(tries.try_suggestion("base", "r", lower, "val_loss", -1), core::UserError);
  EXPECT_THROW(tries.try_suggestion("base", "r", json::object(), "val_loss", 10), core::UserError);
  EXPECT_THROW(tries.try_suggestion("base", "r", {{"lr", "0.1"}}, "val_loss", 10), core::UserError);
  EXPECT_THROW(tries.try_suggestion("base", "r", {{"--out", "/tmp/x"}}, "val_loss", 10), core::UserError);
  EXPECT_THROW(tries.try_suggestion("base", "r", {{"--lr", "--out"}}, "val_loss", 10), core::UserError);
  fs::create_directories(root() / "no-command");
  EXPECT_THROW(tries.try_suggestion("no-command", "r", lower, "val_loss", 10), core::UserError);
  EXPECT_THROW(tries.trial("base.try-r-1"), RunNotFound);  // nothing was queued
}

}  // namespace
}  // namespace sieve::dashboard
