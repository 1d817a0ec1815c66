// `sieve train --scorer-warmup-steps N --scorer-distill-weight W`: bad values and a warm-up on a
// model without sparse layers are errors naming the flag (before any tokenizer is trained); a
// short sparse run logs the distillation loss during the warm-up and not after it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "made_up_corpus.h"
#include "run_sieve.h"
#include "temp_dir.h"

namespace {

using sieve::testing::run_sieve;

std::filesystem::path write_corpus(const std::filesystem::path& dir) {
  const auto corpus = dir / "corpus.txt";
  sieve::testing::write_made_up_corpus(corpus, 11);
  return corpus;
}

TEST(ScorerWarmupCli, BadValuesAreErrorsNamingTheFlag) {
  sieve::testing::TempDir dir;
  const std::string base = "train --dataset " + write_corpus(dir.path()).string() + " --out " +
                           (dir / "model").string() + " --preset tiny --steps 2 ";
  const std::pair<std::string, const char*> cases[] = {
      {"--attention sparse --scorer-warmup-steps -1", "--scorer-warmup-steps"},
      {"--attention sparse --scorer-warmup-steps 5 --scorer-distill-weight 0", "--scorer-distill-weight"},
      {"--attention sparse --scorer-warmup-steps 5 --scorer-distill-weight -2", "--scorer-distill-weight"},
      {"--attention sparse --scorer-warmup-steps 5 --scorer-distill-emphasis -1", "--scorer-distill-emphasis"},
      // Nothing to warm up: every layer dense (the default) or local.
      {"--scorer-warmup-steps 5", "--scorer-warmup-steps"},
      {"--attention local --scorer-warmup-steps 5", "--scorer-warmup-steps"},
  };
  for (const auto& [flags, name] : cases) {
    const auto result = run_sieve(base + flags);
    EXPECT_EQ(result.exit_code, 2) << flags << "\n" << result.output;
    EXPECT_NE(result.output.find(name), std::string::npos) << flags << "\n" << result.output;
    EXPECT_EQ(result.output.find("training a"), std::string::npos) << "checked before the tokenizer: " << flags;
  }
}

TEST(ScorerWarmupCli, TheWarmUpLogsTheDistillationLossUntilItEnds) {
  sieve::testing::TempDir dir;
  const auto corpus = write_corpus(dir.path());
  const std::string model = (dir / "model").string();
  const auto result = run_sieve("train --dataset " + corpus.string() + " --out " + model +
                                " --preset tiny --steps 3 --batch 2 --context 128 --attention sparse --sparse-window 64 "
                                "--sparse-dense-below 0 --sparse-global-cap 32 --eval-windows 2 --log-interval 1 "
                                "--scorer-warmup-steps 2 --scorer-distill-weight 0.5");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("scorer distill"), std::string::npos) << result.output;
  std::ifstream metrics(dir / "model" / "metrics.jsonl");
  std::vector<nlohmann::json> train;
  for (std::string line; std::getline(metrics, line);) {
    const auto record = nlohmann::json::parse(line);
    if (record["event"] == "train") train.push_back(record);
  }
  ASSERT_EQ(train.size(), 3u);
  for (const auto& record : train) {
    const bool warm = record["step"].get<int>() <= 2;
    EXPECT_EQ(record.contains("scorer_distill_loss"), warm) << record.dump();
    if (warm) {
      EXPECT_GT(record["scorer_distill_loss"].get<double>(), 0.0) << record.dump();
    }
  }
}

}  // namespace
