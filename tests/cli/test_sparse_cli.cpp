// The sparse-attention flags on the command line: bad knobs are errors naming the flag; bench
// attention prints sparse and dense timings from one run; a sparse model trains, evaluates
// under other knobs and generates.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "made_up_corpus.h"
#include "run_sieve.h"
#include "temp_dir.h"

namespace {

using sieve::testing::run_sieve;

constexpr const char* kSmallBench = "bench attention --attention sparse --seq 256 --heads 2 --head-dim 16 "
                                    "--sparse-window 64 --repeats 1 --json";

TEST(SparseCli, BadKnobsAreErrorsNamingTheFlag) {
  const std::string base = "bench attention --seq 256 --heads 2 --head-dim 16 --repeats 1 --json ";
  const std::pair<const char*, const char*> cases[] = {
      {"--dynamic-sparse-threshold 1.5", "--dynamic-sparse-threshold"},
      {"--dynamic-sparse-threshold -0.1", "--dynamic-sparse-threshold"},
      {"--sparse-keep-ratio 0", "--sparse-keep-ratio"},
      {"--sparse-keep-ratio 1.5", "--sparse-keep-ratio"},
      {"--sparse-window 0", "--sparse-window"},
      {"--sparse-window -5", "--sparse-window"},
      {"--sparse-chunk 0", "--sparse-chunk"},
      {"--sparse-global-cap 0", "--sparse-global-cap"},
      {"--sparse-lsh-rounds 9", "--sparse-lsh-rounds"},
      {"--attention global", "--attention"},
  };
  for (const auto& [flags, name] : cases) {
    const auto result = run_sieve(base + flags);
    EXPECT_EQ(result.exit_code, 2) << flags << "\n" << result.output;
    EXPECT_NE(result.output.find(name), std::string::npos) << flags << "\n" << result.output;
  }
}

TEST(SparseCli, BenchAttentionReportsSparseBesideDense) {
  const auto result = run_sieve(kSmallBench);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto line = result.output.substr(result.output.rfind('{'));
  const auto json = nlohmann::json::parse(line);
  EXPECT_EQ(json["attention"], "sparse");
  for (const char* field : {"forward_ms", "backward_ms", "dense_forward_ms", "dense_backward_ms"})
    EXPECT_GT(json.at(field).get<double>(), 0.0) << field;
}

TEST(SparseCli, ASparseModelTrainsEvaluatesAndGenerates) {
  sieve::testing::TempDir dir;
  const auto corpus = dir / "corpus.txt";
  sieve::testing::write_made_up_corpus(corpus, 7);
  const std::string model = (dir / "model").string();
  auto result = run_sieve("train --dataset " + corpus.string() + " --out " + model +
                          " --preset tiny --steps 3 --batch 2 --context 128 --attention sparse --sparse-window 64 "
                          "--sparse-dense-below 0 --sparse-global-cap 32 --eval-windows 2");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::ifstream config(dir / "model" / "config.json");
  const auto json = nlohmann::json::parse(config);
  EXPECT_EQ(json["attention"]["type"], "sparse");
  EXPECT_EQ(json["attention"]["window"], 64);

  result = run_sieve("eval --model " + model + " --data " + corpus.string() +
                     " --max-windows 2 --dynamic-sparse-threshold 0.7");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  result = run_sieve("generate --model " + model + " --prompt 'the sparse' --max-new-tokens 8 --seed 1");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  // The tau sweep (cap raised past T): coverage 1 at tau = 0 (every key reachable), no more at 0.9.
  result = run_sieve("bench sparse-sweep --model " + model + " --shard " + (dir / "model" / "data" / "val.bin").string() +
                     " --context 128 --windows 1 --thresholds 0 0.9 --sparse-global-cap 512 --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::vector<nlohmann::json> lines;
  std::istringstream stream(result.output);
  for (std::string line; std::getline(stream, line);)
    if (!line.empty() && line.front() == '{') lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 2u) << result.output;
  EXPECT_NEAR(lines[0]["dense_mass_coverage"].get<double>(), 1.0, 1e-4);
  EXPECT_LE(lines[1]["dense_mass_coverage"].get<double>(), lines[0]["dense_mass_coverage"].get<double>() + 1e-9);
  // Knobs cannot reshape an existing model directory through train --model-path.
  result = run_sieve("train --model-path " + model + " --dataset " + corpus.string() + " --steps 1 --attention dense");
  EXPECT_EQ(result.exit_code, 2) << result.output;
}

}  // namespace
