// read_run_inputs: a run directory's metrics, command and model config — the config found
// through the command when the run has not written its own.
#include <gtest/gtest.h>

#include "advisor_test_util.h"
#include "temp_dir.h"

namespace sieve::dashboard {
namespace {

using namespace testing;
using json = nlohmann::json;

void write(const std::filesystem::path& file, const json& value) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file) << value.dump();
}

TEST(AdvisorRunInputs, ReadsTheFixtureRunsFiles) {
  const RunInputs run = load_fixture("healthy");
  EXPECT_EQ(run.series.start["event"], "start");
  EXPECT_EQ(run.series.train.size(), 40u);
  EXPECT_EQ(run.series.eval.size(), 11u);
  EXPECT_EQ(run.config["hidden_size"], 256);
  EXPECT_EQ(run.command["verb"], "train");
}

TEST(AdvisorRunInputs, FindsTheConfigTheCommandNames) {
  sieve::testing::TempDir dir;
  const json config{{"hidden_size", 48}};
  write(dir / "base" / "config.json", config);
  // A LoRA fine-tune writes no config.json: its base model's, relative to the command's cwd.
  write(dir / "ft" / "command.json",
        {{"verb", "finetune"}, {"args", {"--model", "base", "--lora"}}, {"cwd", dir.path().string()}});
  EXPECT_EQ(read_run_inputs(dir / "ft").config, config);
  write(dir / "tr" / "command.json",
        {{"verb", "train"}, {"args", {"--model-path", (dir / "base").string()}}, {"cwd", "/nowhere"}});
  EXPECT_EQ(read_run_inputs(dir / "tr").config, config);
  write(dir / "di" / "command.json", {{"verb", "distill"}, {"args", {"--student-preset", "tiny"}}, {"cwd", "/"}});
  EXPECT_EQ(read_run_inputs(dir / "di").config["hidden_size"], 64);
  // Its own config.json wins; nothing found reads as null.
  write(dir / "tr" / "config.json", {{"hidden_size", 96}});
  EXPECT_EQ(read_run_inputs(dir / "tr").config["hidden_size"], 96);
  write(dir / "lost" / "command.json", {{"verb", "finetune"}, {"args", {"--model", "gone"}}, {"cwd", "/"}});
  const RunInputs lost = read_run_inputs(dir / "lost");
  EXPECT_TRUE(lost.config.is_null());
  EXPECT_TRUE(lost.series.start.is_null());
  EXPECT_TRUE(lost.series.train.empty());
  std::ofstream(dir / "lost" / "command.json") << "[1, 2";
  EXPECT_TRUE(read_run_inputs(dir / "lost").command.is_null());
}

}  // namespace
}  // namespace sieve::dashboard
