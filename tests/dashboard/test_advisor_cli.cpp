// `sieve advise RUN_DIR`: the suggestions as text and as JSON, judged against this machine or a
// saved profile (--machine), and clear errors for a bad run directory or profile.
#include <gtest/gtest.h>

#include <cstdlib>

#include "advisor_test_util.h"
#include "run_sieve.h"
#include "temp_dir.h"

namespace sieve::dashboard {
namespace {

using namespace testing;
using sieve::testing::run_sieve;

class AdviseCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("SIEVE_CACHE_DIR", SIEVE_TEST_CACHE_DIR, 0);  // the GEMM measurement's cache, for `sieve`
    profile_ = (dir_ / "machine.json").string();
    std::ofstream(profile_) << to_json(slow_avx2_machine()).dump();
  }
  sieve::testing::TempDir dir_;
  std::string profile_;
};

TEST_F(AdviseCli, PrintsEachSuggestionWithItsEvidenceAndChange) {
  const auto result = run_sieve("advise " + fixture_run("diverging").string() + " --machine " + profile_);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const char* text : {"[warning]", "(divergence)", "evidence: loss 9.6 at step 210", "expected:",
                           "change:   --lr 0.002 --warmup 20", "measure:  val_loss"})
    EXPECT_NE(result.output.find(text), std::string::npos) << text << "\n" << result.output;
}

TEST_F(AdviseCli, AHealthyRunHasNoSuggestionsHereOrOnASlowMachine) {
  const std::string healthy = fixture_run("healthy").string();
  auto result = run_sieve("advise " + healthy + " --machine " + profile_);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "no suggestions for " + healthy + "\n");
  result = run_sieve("advise " + healthy + " --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto json = nlohmann::json::parse(result.output);
  EXPECT_EQ(json["run"], healthy);
  EXPECT_EQ(json["suggestions"], nlohmann::json::array());
  EXPECT_GT(json["machine"]["gemm_gflops"]["fp32"].get<double>(), 0.0);
  EXPECT_GT(json["machine"]["cores"].get<int>(), 0);
}

TEST_F(AdviseCli, JsonHasTheRunTheSuggestionsAndTheMachine) {
  const auto result = run_sieve("advise " + fixture_run("slow").string() + " --json --machine " + profile_);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto json = nlohmann::json::parse(result.output);
  EXPECT_EQ(json["machine"], to_json(slow_avx2_machine()));
  ASSERT_EQ(json["suggestions"].size(), 1u) << json.dump(2);
  const auto& suggestion = json["suggestions"][0];
  EXPECT_EQ(suggestion["rule"], "throughput");
  EXPECT_EQ(suggestion["change"], (nlohmann::json{{"--batch", "16"}}));
  EXPECT_EQ(suggestion["measure"], "tokens_per_s");
  EXPECT_EQ(suggestion["severity"], "info");
}

TEST_F(AdviseCli, BadRunDirectoriesAndProfilesAreClearErrors) {
  auto result = run_sieve("advise " + (dir_ / "missing").string());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("does not exist"), std::string::npos) << result.output;

  result = run_sieve("advise " + dir_.path().string());  // a directory without metrics.jsonl
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("has no metrics.jsonl"), std::string::npos) << result.output;

  std::ofstream(dir_ / "bad.json") << "{\"cores\": 2}";
  result = run_sieve("advise " + fixture_run("slow").string() + " --machine " + (dir_ / "bad.json").string());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("memory_mb"), std::string::npos) << result.output;

  result = run_sieve("advise " + fixture_run("slow").string() + " --machine " + (dir_ / "none.json").string());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("--machine"), std::string::npos) << result.output;

  result = run_sieve("advise");
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_EQ(run_sieve("advise --help").exit_code, 0);
}

TEST_F(AdviseCli, AnEmptyMetricsFileHasNoSuggestions) {
  std::ofstream(dir_ / "metrics.jsonl") << "";
  const auto result = run_sieve("advise " + dir_.path().string() + " --machine " + profile_);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("no suggestions"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace sieve::dashboard
