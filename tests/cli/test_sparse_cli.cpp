// The sparse-attention flags on the command line: bad knobs are errors naming the flag; bench
// attention prints sparse and dense timings from one run; a sparse model trains, evaluates
// under other knobs and generates; every verb says when sparse layers run dense attention, and a
// new model is trained sparse unless --sparse-dense-below says otherwise.
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
  // The run's command line (command.json) and the sparse fields of its metrics (docs/metrics.md).
  std::ifstream command_file(dir / "model" / "command.json");
  const auto command = nlohmann::json::parse(command_file);
  EXPECT_EQ(command["verb"], "train");
  EXPECT_EQ(command["args"][0], "--dataset");
  EXPECT_EQ(command["args"].back(), "2");
  EXPECT_EQ(command["cwd"], std::filesystem::current_path().string());
  std::ifstream metrics(dir / "model" / "metrics.jsonl");
  bool coverage_seen = false;
  for (std::string line; std::getline(metrics, line);) {
    const auto record = nlohmann::json::parse(line);
    if (record["event"] == "start") {
      EXPECT_DOUBLE_EQ(record["sparse_threshold"].get<double>(), 0.3);
      EXPECT_EQ(record["sparse_global_cap"], 32);
      EXPECT_EQ(record["trainable_parameters"], record["parameters"]);
    }
    if (record["event"] == "eval") coverage_seen = record["dense_mass_coverage"].get<double>() > 0.0;
  }
  EXPECT_TRUE(coverage_seen);

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

nlohmann::json attention_of(const std::filesystem::path& model) {
  std::ifstream config(model / "config.json");
  return nlohmann::json::parse(config)["attention"];
}

// The tiny preset's context (128) is below the default dense_below (2560): left alone, its sparse
// layers would run dense attention and their scorers would never learn, without a word.
TEST(SparseCli, SparseLayersThatRunDenseAreNeverSilent) {
  sieve::testing::TempDir dir;
  const auto corpus = dir / "corpus.txt";
  sieve::testing::write_made_up_corpus(corpus, 5);
  const std::string sparse = (dir / "sparse").string(), dense = (dir / "dense").string(),
                    local = (dir / "local").string();
  const std::string make = " --preset tiny --steps 0 --attention sparse --sparse-window 64 --sparse-global-cap 16";
  auto result = run_sieve("train --dataset " + corpus.string() + " --out " + sparse + make);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("note: training the sparse attention layers sparse: the model's context (128) is "
                               "below the default dense_below (2560)"),
            std::string::npos)
      << result.output;
  EXPECT_EQ(attention_of(sparse)["dense_below"], 0);
  const std::string tokenizer = " --tokenizer " + sparse + "/tokenizer.model";
  result = run_sieve("train --out " + dense + make + tokenizer + " --sparse-dense-below 4096");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::string runs_dense = "note: the sparse attention layers run dense attention: the model's context (128) is "
                                 "below dense_below (4096, from ";
  EXPECT_NE(result.output.find(runs_dense + "--sparse-dense-below)"), std::string::npos) << result.output;
  EXPECT_EQ(attention_of(dense)["dense_below"], 4096);
  result = run_sieve("train --out " + local + tokenizer + " --preset tiny --steps 0 --attention local");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output.find("note:"), std::string::npos) << "no scorer layers, nothing to say\n" << result.output;

  // eval, generate, finetune and train --model-path say so too; the model's config decides.
  const std::string eval = " --data " + corpus.string() + " --max-windows 1";
  const std::string from_config = runs_dense + dense + "/config.json)";
  for (const std::string& command :
       {"eval --model " + dense + eval, "generate --model " + dense + " --prompt hi --max-new-tokens 2",
        "finetune --model " + dense + " --data " + corpus.string() + " --out " + (dir / "ft").string() +
            " --steps 1 --batch 1 --context 32 --eval-windows 1 --lora --lora-rank 2",
        "train --model-path " + dense + " --dataset " + corpus.string() + " --out " + (dir / "tr").string() +
            " --steps 1 --batch 1 --context 32 --eval-windows 1"}) {
    result = run_sieve(command);
    ASSERT_EQ(result.exit_code, 0) << command << "\n" << result.output;
    EXPECT_NE(result.output.find(from_config), std::string::npos) << command << "\n" << result.output;
  }
  result = run_sieve("eval --model " + sparse + eval + " --sparse-dense-below 4096");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find(runs_dense + "--sparse-dense-below)"), std::string::npos) << result.output;
  result = run_sieve("eval --model " + sparse + eval);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output.find("note:"), std::string::npos) << result.output;

  // bench retrieval builds its models the same way.
  result = run_sieve("bench retrieval --task passkey --context 256 --steps 1 --batch 1 --hidden 32 --layers 1 "
                     "--heads 2 --eval-size 1 --json --attention sparse --sparse-window 64");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("note: training the sparse attention layers sparse"), std::string::npos)
      << result.output;
  const std::string last_line = result.output.substr(result.output.rfind("\n{") + 1);
  EXPECT_EQ(nlohmann::json::parse(last_line)["dense_below"], 0);
}

}  // namespace
