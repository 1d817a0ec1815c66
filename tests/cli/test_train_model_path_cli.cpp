// `sieve train --model-path DIR ... --dataset FILE --epochs 1` (the issue's command line, on a
// tiny model), its flag errors, and the examples/train_mixed_precision program on the same model.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "run_sieve.h"
#include "file_snapshot.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;

using sieve::testing::CommandResult;
using sieve::testing::run_sieve;

using sieve::testing::read_bytes;
using sieve::testing::snapshot_dir;

// Runs any command, capturing stdout and stderr together.
CommandResult run_command(const std::string& command) {
  CommandResult result{-1, {}};
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) result.output += buffer;
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

void write_corpus(const fs::path& path) {
  const char* words[] = {"the", "model", "learns", "sparse", "tokens", "attention", "of", "a", "river", "flows",
                         "under", "bridge", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "engine"};
  std::mt19937 rng(11);
  std::ofstream out(path);
  for (int doc = 0; doc < 300; ++doc) {
    for (int sentence = 0; sentence < 4; ++sentence) {
      const int n = 5 + static_cast<int>(rng() % 10);
      for (int w = 0; w < n; ++w) out << (w ? " " : "") << words[rng() % std::size(words)];
      out << ".\n";
    }
    out << "\n";
  }
}

// A base model as the README makes one: `sieve train --steps 0 --out DIR` (a tokenizer trained
// on the corpus, a config, untrained weights) — here the tiny preset's shape with 32 positions.
class TrainModelPath : public ::testing::Test {
 protected:
  void SetUp() override {
    write_corpus(corpus_);
    std::ofstream(dir_ / "config.json") << R"({"vocab_size": 320, "hidden_size": 64, "intermediate_size": 160,
      "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 32})";
    const CommandResult made =
        run_sieve("train --dataset " + corpus_.string() + " --config " + (dir_ / "config.json").string() +
                  " --steps 0 --out " + base_.string());
    ASSERT_EQ(made.exit_code, 0) << made.output;
    ASSERT_TRUE(fs::exists(base_ / "model.safetensors")) << made.output;
  }

  sieve::testing::TempDir dir_;
  fs::path corpus_ = dir_ / "corpus.txt";
  fs::path base_ = dir_ / "base";
};

double parse_after(const std::string& output, const char* prefix, double* before) {
  const auto at = output.find(prefix);
  if (at == std::string::npos) return NAN;
  double after = NAN;
  const std::string format = std::string(prefix) + "%lf%*[^0-9]%lf";
  if (std::sscanf(output.c_str() + at, format.c_str(), before, &after) != 2) return NAN;
  return after;
}

TEST_F(TrainModelPath, TheIssueCommandLineTrainsIntoARunDirectory) {
  const auto before = snapshot_dir(base_);
  const CommandResult trained =
      run_sieve("train --model-path " + base_.string() + " --precision fp32 --grad-accum 8 --loss-scale-window 1024 "
                "--dataset " + corpus_.string() + " --epochs 1 --batch 4 --eval-windows 8 --log-interval 5");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  double ppl_before = NAN;
  const double ppl_after = parse_after(trained.output, "validation perplexity: ", &ppl_before);
  EXPECT_LT(ppl_after, ppl_before) << trained.output;
  EXPECT_NE(trained.output.find("precision: fp32"), std::string::npos) << trained.output;
  EXPECT_NE(trained.output.find("epochs of"), std::string::npos) << trained.output;
  const fs::path run = dir_ / "base-trained";
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.model", "metrics.jsonl"})
    EXPECT_TRUE(fs::exists(run / file)) << file;
  EXPECT_EQ(snapshot_dir(base_), before) << "the input model directory changed";
}

TEST_F(TrainModelPath, BadFlagsFailWithAMessage) {
  const std::string train = "train --model-path " + base_.string() + " --dataset " + corpus_.string();
  CommandResult bad = run_sieve(train + " --precision fp64 --epochs 1");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--precision"), std::string::npos) << bad.output;

  bad = run_sieve("train --model-path " + (dir_ / "none").string() + " --dataset " + corpus_.string());
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("does not exist"), std::string::npos) << bad.output;

  bad = run_sieve("train --model-path " + base_.string() + " --dataset wikitext-2 --data-dir " + dir_.path().string());
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("wiki.valid.raw"), std::string::npos) << bad.output;

  bad = run_sieve(train + " --out " + base_.string() + " --steps 1");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("overwrite"), std::string::npos) << bad.output;

  bad = run_sieve(train + " --preset tiny");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--preset"), std::string::npos) << bad.output;

  bad = run_sieve(train + " --epochs 1 --steps 5");
  EXPECT_NE(bad.exit_code, 0);
}

TEST_F(TrainModelPath, ExampleProgramTrainsTheBaseModel) {
  const fs::path example = fs::path(SIEVE_BINARY).parent_path() / "examples" / "train_mixed_precision";
  ASSERT_TRUE(fs::exists(example)) << "build the train_mixed_precision target";
  const auto before = snapshot_dir(base_);
  // `auto` measures once; its cache goes to the scratch directory, not the user's.
  const CommandResult ran = run_command("SIEVE_CACHE_DIR=" + (dir_ / "cache").string() + " " + example.string() +
                                        " " + base_.string() + " " + corpus_.string() + " 1");
  ASSERT_EQ(ran.exit_code, 0) << ran.output;
  double first = NAN, val_before = NAN;
  const double last = parse_after(ran.output, "train loss: ", &first);
  const double val_after = parse_after(ran.output, "validation loss: ", &val_before);
  EXPECT_LT(last, first) << ran.output;
  EXPECT_LT(val_after, val_before) << ran.output;
  EXPECT_NE(ran.output.find("decision:"), std::string::npos) << ran.output;  // the precision report
  EXPECT_TRUE(fs::exists(dir_ / "base-trained" / "model.safetensors"));
  EXPECT_EQ(snapshot_dir(base_), before);
}

}  // namespace
