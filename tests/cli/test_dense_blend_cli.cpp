// `--dense-blend-steps N` on `sieve train` and `sieve bench retrieval`: bad values and a blend on
// a model without sparse layers are errors naming the flag (for train, before any tokenizer is
// trained); a blended run changes what the first steps train but reports the sparse model.
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

nlohmann::json last_json_line(const std::string& output) {
  return nlohmann::json::parse(output.substr(output.rfind("\n{") + 1));
}

TEST(DenseBlendCli, BadValuesAreErrorsNamingTheFlag) {
  sieve::testing::TempDir dir;
  const auto corpus = dir / "corpus.txt";
  sieve::testing::write_made_up_corpus(corpus, 11);
  const std::string train = "train --dataset " + corpus.string() + " --out " + (dir / "model").string() +
                            " --preset tiny --steps 2 ";
  const std::string retrieval = "bench retrieval --task mqar --context 128 --steps 2 --hidden 32 --heads 2 ";
  const std::pair<std::string, bool> cases[] = {
      {train + "--attention sparse --dense-blend-steps -1", true},
      {train + "--dense-blend-steps 5", true},  // every layer dense: nothing to blend
      {train + "--attention local --dense-blend-steps 5", true},
      {retrieval + "--attention sparse --dense-blend-steps -1", false},
      {retrieval + "--dense-blend-steps 5", false},
  };
  for (const auto& [command, is_train] : cases) {
    const auto result = run_sieve(command);
    EXPECT_EQ(result.exit_code, 2) << command << "\n" << result.output;
    EXPECT_NE(result.output.find("--dense-blend-steps"), std::string::npos) << command << "\n" << result.output;
    if (is_train) {
      EXPECT_EQ(result.output.find("training a"), std::string::npos) << "checked before the tokenizer: " << command;
    }
  }
}

// The first step's loss is computed through the blend (share 1: dense attention), so it differs
// from the plain sparse run's; the JSON names the blend.
TEST(DenseBlendCli, RetrievalTrainsThroughTheBlend) {
  const std::string run = "bench retrieval --task passkey --context 256 --steps 1 --batch 2 --hidden 32 --layers 1 "
                          "--heads 2 --eval-size 1 --json --attention sparse --sparse-window 64 "
                          "--sparse-global-cap 4 --sparse-dense-below 0 ";
  const auto plain = run_sieve(run);
  const auto blended = run_sieve(run + "--dense-blend-steps 1");
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  ASSERT_EQ(blended.exit_code, 0) << blended.output;
  const auto plain_json = last_json_line(plain.output), blended_json = last_json_line(blended.output);
  EXPECT_EQ(blended_json["dense_blend_steps"], 1);
  EXPECT_EQ(plain_json["dense_blend_steps"], 0);
  EXPECT_NE(blended_json["final_loss"].get<double>(), plain_json["final_loss"].get<double>());
}

// As for retrieval: the same new model trained with and without the blend differs from the first
// step's loss on, and every step is logged.
TEST(DenseBlendCli, TrainTrainsThroughTheBlend) {
  sieve::testing::TempDir dir;
  const auto corpus = dir / "corpus.txt";
  sieve::testing::write_made_up_corpus(corpus, 11);
  const auto train_losses = [&](const std::string& name, const std::string& extra) {
    const auto result = run_sieve("train --dataset " + corpus.string() + " --out " + (dir / name).string() +
                                  " --preset tiny --steps 3 --batch 2 --context 128 --attention sparse "
                                  "--sparse-window 64 --sparse-dense-below 0 --sparse-global-cap 8 --eval-windows 2 "
                                  "--log-interval 1 " + extra);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    std::ifstream metrics(dir / name / "metrics.jsonl");
    std::vector<double> losses;
    for (std::string line; std::getline(metrics, line);) {
      const auto record = nlohmann::json::parse(line);
      if (record["event"] == "train") losses.push_back(record["loss"].get<double>());
    }
    return losses;
  };
  const std::vector<double> plain = train_losses("plain", ""), blended = train_losses("blended", "--dense-blend-steps 2");
  ASSERT_EQ(plain.size(), 3u);
  ASSERT_EQ(blended.size(), 3u);
  EXPECT_NE(blended[0], plain[0]);
}

}  // namespace
