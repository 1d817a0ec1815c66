// `sieve bench retrieval`: trains on a generated task and reports accuracy as one JSON line;
// bad flags are errors naming the flag.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "run_sieve.h"
#include "temp_dir.h"

namespace {

using sieve::testing::run_sieve;

constexpr const char* kTinyModel = "--context 128 --steps 3 --batch 2 --hidden 32 --layers 1 --heads 2 --eval-size 1 ";

nlohmann::json last_json_line(const std::string& output) {
  return nlohmann::json::parse(output.substr(output.rfind("\n{") + 1));
}

TEST(RetrievalCli, PasskeyReportsAccuracyPerDepthAndSavesTheModel) {
  sieve::testing::TempDir dir;
  const auto result = run_sieve(std::string("bench retrieval --task passkey ") + kTinyModel + "--json --out " +
                                (dir / "model").string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto json = last_json_line(result.output);
  EXPECT_EQ(json["task"], "passkey");
  EXPECT_EQ(json["attention"], "dense");
  EXPECT_EQ(json["test_rows"], 11);
  EXPECT_EQ(json["row_accuracy_by_depth"].size(), 11u);
  for (const char* field : {"answer_accuracy", "row_accuracy"}) {
    EXPECT_GE(json.at(field).get<double>(), 0.0) << field;
    EXPECT_LE(json.at(field).get<double>(), 1.0) << field;
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "model" / "config.json"));
  EXPECT_TRUE(std::filesystem::exists(dir / "model" / "model.safetensors"));
}

TEST(RetrievalCli, RecallRunsWithSparseAndLocalAttention) {
  for (const char* kind : {"sparse", "local"}) {
    const auto result = run_sieve(std::string("bench retrieval --task mqar ") + kTinyModel +
                                  "--json --sparse-window 64 --sparse-dense-below 0 --attention " + kind);
    ASSERT_EQ(result.exit_code, 0) << kind << "\n" << result.output;
    const auto json = last_json_line(result.output);
    EXPECT_EQ(json["attention"], kind);
    EXPECT_EQ(json["window"], 64);
    EXPECT_EQ(json["test_rows"], 10);
  }
}

TEST(RetrievalCli, SparseRunsCanWarmUpTheirScorers) {
  const auto result = run_sieve(std::string("bench retrieval --task passkey --context 256 --steps 3 --batch 2 ") +
                                "--hidden 32 --layers 1 --heads 2 --eval-size 1 --json --attention sparse --sparse-window 64 --sparse-dense-below 0 "
                                "--scorer-warmup-steps 2");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(last_json_line(result.output)["scorer_warmup_steps"], 2);
}

// One step's forward is the same with and without distillation (its loss reaches only the
// scorers, through their gradients), so the reported LM loss must match to the last digit, and
// the distillation loss is reported on its own.
TEST(RetrievalCli, TheReportedLossLeavesTheDistillationLossOut) {
  const std::string run = std::string("bench retrieval --task passkey --context 256 --steps 1 --batch 2 ") +
                          "--hidden 32 --layers 1 --heads 2 --eval-size 1 --json --attention sparse "
                          "--sparse-window 64 --sparse-dense-below 0 ";
  const auto plain = run_sieve(run);
  const auto distilled = run_sieve(run + "--scorer-warmup-steps 1 --scorer-distill-weight 16");
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  ASSERT_EQ(distilled.exit_code, 0) << distilled.output;
  const auto plain_json = last_json_line(plain.output), distilled_json = last_json_line(distilled.output);
  EXPECT_DOUBLE_EQ(distilled_json["final_loss"].get<double>(), plain_json["final_loss"].get<double>());
  EXPECT_FALSE(plain_json.contains("last_scorer_distill_loss")) << plain_json.dump();
  ASSERT_TRUE(distilled_json.contains("last_scorer_distill_loss")) << distilled_json.dump();
  EXPECT_GT(distilled_json["last_scorer_distill_loss"].get<double>(), 0.0);
  EXPECT_NE(distilled.output.find("scorer distill"), std::string::npos) << distilled.output;
  EXPECT_EQ(plain.output.find("scorer distill"), std::string::npos) << plain.output;
}

TEST(RetrievalCli, BadFlagsAreErrorsNamingThem) {
  const std::pair<std::string, const char*> cases[] = {
      {"--task needle", "needle"},
      {"--task passkey --context 16", "context"},
      {"--task mqar --steps 0", "--steps"},
      {"--task mqar --lr -1", "--lr"},
      {"--task mqar --hidden 30 --heads 4", "--hidden"},
      {"--task mqar --attention sparse --dynamic-sparse-threshold 2", "--dynamic-sparse-threshold"},
      {"--task mqar --steps 2 --context 128 --hidden 32 --heads 2 --scorer-warmup-steps 2", "--scorer-warmup-steps"},
      {"--task mqar --attention sparse --scorer-distill-weight 0", "--scorer-distill-weight"},
      {"--task mqar --attention sparse --scorer-distill-emphasis -3", "--scorer-distill-emphasis"},
  };
  for (const auto& [flags, name] : cases) {
    const auto result = run_sieve("bench retrieval " + flags);
    EXPECT_EQ(result.exit_code, 2) << flags << "\n" << result.output;
    EXPECT_NE(result.output.find(name), std::string::npos) << flags << "\n" << result.output;
  }
}

}  // namespace
