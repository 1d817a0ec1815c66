// End to end through the `sieve` binary: train a tiny model on a small text, save, reload,
// resume, generate, eval, inspect; and bad input gives a clear error and a non-zero exit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "run_sieve.h"

namespace {

namespace fs = std::filesystem;

using sieve::testing::CommandResult;

CommandResult run(const std::string& args) { return sieve::testing::run_sieve(args); }

// A few hundred KB of pseudo-English: enough for a 512-piece tokenizer and a few batches.
fs::path write_corpus(const fs::path& dir) {
  const char* words[] = {"the",   "model", "learns", "sparse",  "tokens", "attention", "of",     "a",
                         "river", "flows", "under",  "bridge",  "quick",  "brown",     "fox",    "jumps",
                         "over",  "lazy",  "dog",    "engine",  "trains", "fast",      "small",  "large",
                         "word",  "sense", "define", "meaning", "noun",   "verb",      "letter", "sound"};
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> pick(0, std::size(words) - 1), length(5, 14);
  const fs::path path = dir / "corpus.txt";
  std::ofstream out(path);
  for (int doc = 0; doc < 600; ++doc) {
    for (int sentence = 0; sentence < 4; ++sentence) {
      const int n = length(rng);
      for (int w = 0; w < n; ++w) out << (w ? " " : "") << words[pick(rng)];
      out << ".\n";
    }
    out << "\n";
  }
  return path;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sieve-cli-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    corpus_ = write_corpus(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  fs::path corpus_;
};

TEST_F(Cli, TrainSaveReloadResumeGenerateEvalInspect) {
  const fs::path out = dir_ / "run";
  const std::string train = "train --data " + corpus_.string() + " --out " + out.string() +
                            " --preset tiny --batch 4 --context 32 --log-interval 2 --val-fraction 0.05 "
                            "--eval-windows 8 --warmup 2";
  CommandResult first = run(train + " --steps 6");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("validation perplexity"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("tok/s"), std::string::npos) << first.output;
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.model"})
    EXPECT_TRUE(fs::exists(out / file)) << file;
  EXPECT_TRUE(fs::exists(out / "checkpoints" / "step-00000006" / "state.json"));

  CommandResult resumed = run(train + " --steps 10 --resume --grad-accum 2 --loss-scaling --loss-scale-window 2");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resumed from"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("after 10 steps"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("| scale "), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("loss scaling: 0 step(s) skipped"), std::string::npos) << resumed.output;
  EXPECT_TRUE(fs::exists(out / "metrics.jsonl"));

  CommandResult generated = run("generate --model " + out.string() +
                      " --prompt 'the model' --max-new-tokens 12 --temperature 0.8 --top-k 20 --seed 3");
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  EXPECT_EQ(generated.output.rfind("the model", 0), 0u) << generated.output;
  CommandResult again = run("generate --model " + out.string() +
                  " --prompt 'the model' --max-new-tokens 12 --temperature 0.8 --top-k 20 --seed 3");
  EXPECT_EQ(generated.output, again.output) << "seeded generation must be reproducible";

  CommandResult evaluated = run("eval --model " + out.string() + " --data " + corpus_.string() +
                      " --split all --context 32 --max-windows 8");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
  EXPECT_NE(evaluated.output.find("perplexity"), std::string::npos) << evaluated.output;

  CommandResult inspected = run("inspect " + out.string());
  ASSERT_EQ(inspected.exit_code, 0) << inspected.output;
  EXPECT_NE(inspected.output.find("parameters"), std::string::npos) << inspected.output;
  EXPECT_NE(inspected.output.find("kv heads 2"), std::string::npos) << inspected.output;
}

TEST_F(Cli, EveryVerbHasHelp) {
  for (const char* verb : {"train", "eval", "generate", "tokenizer", "inspect", "bench", "bench train",
                           "bench attention", "bench decode", "bench prefill", "quantize", "tokenizer train"}) {
    CommandResult help = run(std::string(verb) + " --help");
    EXPECT_EQ(help.exit_code, 0) << verb << ": " << help.output;
    EXPECT_NE(help.output.find("Usage"), std::string::npos) << verb;
  }
}

TEST_F(Cli, BadInputGivesAClearErrorAndNonZeroExit) {
  struct Case {
    std::string args;
    std::string expected;  // part of the message
  };
  const fs::path bad_config = dir_ / "bad.json";
  std::ofstream(bad_config) << "{\"vocab_size\": 512, \"hidden_size\": ";
  const fs::path empty_dir = dir_ / "empty";
  fs::create_directories(empty_dir);
  const std::vector<Case> cases = {
      {"train --data " + corpus_.string() + " --out " + (dir_ / "w").string() + " --bogus-flag", "bogus"},
      {"", "subcommand"},
      {"train --data /nonexistent/corpus.txt --out " + (dir_ / "x").string(), "/nonexistent/corpus.txt"},
      {"train --data " + corpus_.string() + " --out " + (dir_ / "y").string() + " --preset huge", "unknown preset"},
      {"train --data " + corpus_.string() + " --out " + (dir_ / "z").string() + " --config " + bad_config.string(),
       "bad.json"},
      {"generate --model /nonexistent --prompt hi", "/nonexistent"},
      {"inspect " + empty_dir.string(), "config.json"},
      {"train --data " + corpus_.string() + " --out " + (dir_ / "v").string() + " --grad-accum 0", "--grad-accum"},
      {"train --data " + corpus_.string() + " --out " + (dir_ / "u").string() + " --loss-scale-window 0",
       "--loss-scale-window"},
      {"bench attention --seq 0", "--seq"},
      {"bench train --steps abc", "abc"},
  };
  for (const auto& c : cases) {
    CommandResult r = run(c.args);
    EXPECT_NE(r.exit_code, 0) << c.args << ": " << r.output;
    EXPECT_NE(r.exit_code, -1) << c.args << " crashed: " << r.output;
    EXPECT_NE(r.exit_code, 3) << c.args << " reported an internal error: " << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << c.args << ": " << r.output;
  }
}

}  // namespace
