// Jobs on a run that already holds a model: training it further, LoRA fine-tuning it, and
// resuming or trying a run that `sieve train` started from the command line (its command.json
// has paths relative to the directory it ran in).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "apps/dashboard/jobs/command_args.h"
#include "apps/dashboard/jobs/job_manager.h"
#include "apps/dashboard/jobs/try_it.h"
#include "jobs_test_runs.h"

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

// The words of the tiny command line, relative to the runs directory, as command.json keeps them.
std::vector<std::string> cli_args(int steps) {
  return {"--data",         "corpus.txt", "--out",          "cli",  "--preset",       "tiny",
          "--batch",        "2",          "--context",      "32",   "--steps",        std::to_string(steps),
          "--eval-windows", "2",          "--val-fraction", "0.05", "--log-interval", "5"};
}

class ModelRuns : public ::testing::Test {
 protected:
  // One run trained from the command line, 20 steps, in the runs directory.
  static void SetUpTestSuite() {
    runs_ = new JobsRunsRoot();
    std::string command = "cd '" + runs_->root().string() + "' && OMP_NUM_THREADS=1 " + SIEVE_BINARY + " train";
    for (const std::string& word : cli_args(20)) command += " " + word;
    ASSERT_EQ(std::system((command + " > cli.log 2>&1").c_str()), 0) << read_text(runs_->root() / "cli.log");
  }
  static void TearDownTestSuite() {
    delete runs_;
    runs_ = nullptr;
  }
  static fs::path root() { return fs::canonical(runs_->root()); }
  // What `sieve train` records of the command line above, with `steps` steps.
  static void write_command_file(int steps) {
    std::ofstream(root() / "cli" / "command.json")
        << json{{"verb", "train"}, {"args", cli_args(steps)}, {"cwd", root().string()}, {"unix_time", 0}}.dump();
  }

  static inline JobsRunsRoot* runs_ = nullptr;
};

TEST_F(ModelRuns, TrainsARunsModelFurtherAndFineTunesItWithLora) {
  JobManager jobs(root(), SIEVE_BINARY, 2, testing::kTestThreads);
  json more = {{"name", "more"}, {"model", "cli"}, {"dataset", "corpus.txt"}, {"batch", 2},
               {"context", 32},  {"steps", 10},    {"eval_windows", 2},       {"val_fraction", 0.05}};
  jobs.launch(more);
  json lora = more;
  lora["name"] = "lora";
  lora["lora_rank"] = 2;
  jobs.launch(lora);
  ASSERT_TRUE(jobs.wait_until_ended("more", 120s));
  ASSERT_TRUE(jobs.wait_until_ended("lora", 120s));
  EXPECT_EQ(jobs.status("more")->state, "finished") << read_text(root() / "more" / "train.log");
  EXPECT_EQ(jobs.status("lora")->state, "finished") << read_text(root() / "lora" / "train.log");
  EXPECT_EQ(last_train_step(root() / "more"), 10);
  EXPECT_EQ(last_train_step(root() / "lora"), 10);
  EXPECT_TRUE(fs::exists(root() / "more" / "model.safetensors"));
  EXPECT_TRUE(fs::exists(root() / "lora" / "adapter.safetensors"));
  EXPECT_EQ(read_json(root() / "lora" / "job.json")["command"]["verb"], "finetune");
}

TEST_F(ModelRuns, ResumesARunFromItsCommandFile) {
  // As if the 20-step run had been stopped on its way to 40: its checkpoint is at step 20.
  write_command_file(40);
  JobManager jobs(root(), SIEVE_BINARY, 2, testing::kTestThreads);
  jobs.resume("cli");
  ASSERT_TRUE(jobs.wait_until_ended("cli", 120s));
  EXPECT_EQ(jobs.status("cli")->state, "finished") << read_text(root() / "cli" / "train.log");
  EXPECT_EQ(last_train_step(root() / "cli"), 40);
  EXPECT_NE(read_text(root() / "cli" / "train.log").find("resumed from"), std::string::npos);
}

TEST_F(ModelRuns, TriesAChangeOnARunStartedFromTheCommandLine) {
  write_command_file(20);
  JobManager jobs(root(), SIEVE_BINARY, 2, testing::kTestThreads);
  TryItManager tries(jobs);
  const std::string id = tries.try_suggestion("cli", "bigger-batch", {{"--batch", 4}}, "tokens_per_s", 10);
  json trial;
  ASSERT_TRUE(
      eventually([&] { return (trial = tries.trial(id))["state"] != "queued" && trial["state"] != "running"; }, 120s));
  ASSERT_EQ(trial["state"], "done") << trial.dump(2);
  // Relative paths resolved in the run's directory of origin; the model's tokenizer reused.
  const auto args = read_json(root() / id / "variant" / "job.json")["command"]["args"].get<std::vector<std::string>>();
  EXPECT_EQ(flag_value(args, "--data"), "corpus.txt");
  EXPECT_EQ(flag_value(args, "--batch"), "4");
  EXPECT_EQ(flag_value(args, "--tokenizer"), (root() / "cli" / "tokenizer.model").string());
  EXPECT_EQ(last_train_step(root() / id / "variant"), 10);
  EXPECT_TRUE(trial["difference"].is_number());
}

}  // namespace
}  // namespace sieve::dashboard
