// Untrusted model directories through the CLI: a config that describes a model too large for the
// machine, or whose sizes overflow, is a clear `sieve: error:` (exit 2) before anything is
// allocated; --max-model-bytes sets the limit on every verb that builds a model.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "run_sieve.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using sieve::testing::run_sieve;

const fs::path kGoldenModel = fs::path(SIEVE_FIXTURE_DIR) / "golden_llama";

fs::path model_dir_with_config(const sieve::testing::TempDir& dir, const std::string& config) {
  std::ofstream(dir / "config.json") << config;
  return dir.path();
}

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// Before: `std::bad_alloc` and exit 3 (an internal error) after trying to allocate 8 EiB.
TEST(ModelLimitsCli, ConfigTooLargeForTheMachineIsAUserError) {
  sieve::testing::TempDir dir;
  model_dir_with_config(dir, R"({"vocab_size": 1073741824, "hidden_size": 1073741824, "intermediate_size": 64,
                                 "num_hidden_layers": 1, "num_attention_heads": 2})");
  const auto result = run_sieve("inspect " + dir.path().string());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_TRUE(contains(result.output, "sieve: error: " + (dir / "config.json").string() + ": the model would take"))
      << result.output;
  EXPECT_TRUE(contains(result.output, "vocab_size x hidden_size")) << result.output;
  EXPECT_TRUE(contains(result.output, "this machine's physical memory")) << result.output;
  EXPECT_FALSE(contains(result.output, "internal error")) << result.output;
  for (const std::string verb : {"eval --data unused.txt --model ", "generate --prompt hi --model "}) {
    const auto other = run_sieve(verb + dir.path().string());
    EXPECT_EQ(other.exit_code, 2) << verb << other.output;
    EXPECT_TRUE(contains(other.output, "the model would take")) << verb << other.output;
  }
}

TEST(ModelLimitsCli, SizesWhoseProductOverflowsAreAUserError) {
  sieve::testing::TempDir dir;
  model_dir_with_config(dir, R"({"vocab_size": 64, "hidden_size": 2147483648, "intermediate_size": 2147483648,
                                 "num_hidden_layers": 2147483648, "num_attention_heads": 2})");
  const auto result = run_sieve("inspect " + dir.path().string());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_TRUE(contains(result.output, "sieve: error: " + (dir / "config.json").string())) << result.output;
  EXPECT_TRUE(contains(result.output, "too large to count")) << result.output;
  EXPECT_TRUE(contains(result.output, "num_hidden_layers 2147483648")) << result.output;
}

TEST(ModelLimitsCli, MaxModelBytesSetsTheLimit) {
  const auto fits = run_sieve("inspect " + kGoldenModel.string() + " --max-model-bytes 1M");
  EXPECT_EQ(fits.exit_code, 0) << fits.output;
  const auto refused = run_sieve("inspect " + kGoldenModel.string() + " --max-model-bytes 64K");
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_TRUE(contains(refused.output, "64.0 KiB limit (set for this run)")) << refused.output;
  const auto zero = run_sieve("inspect " + kGoldenModel.string() + " --max-model-bytes 0");
  EXPECT_EQ(zero.exit_code, 2) << zero.output;
  EXPECT_TRUE(contains(zero.output, "--max-model-bytes")) << zero.output;
}

TEST(ModelLimitsCli, EveryVerbThatBuildsAModelTakesTheFlag) {
  for (const char* verb : {"train", "eval", "generate", "inspect", "finetune", "bench sparse-sweep"}) {
    SCOPED_TRACE(verb);
    const auto help = run_sieve(std::string(verb) + " --help");
    EXPECT_EQ(help.exit_code, 0) << help.output;
    EXPECT_TRUE(contains(help.output, "--max-model-bytes")) << help.output;
  }
}

}  // namespace
