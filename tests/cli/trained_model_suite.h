// A test suite around one tiny model that `sieve train` trains once, in a temporary directory
// the suite's tests write their other files into (conversions, quantized copies, ...).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <regex>
#include <string>

#include "made_up_corpus.h"
#include "run_sieve.h"
#include "temp_dir.h"

namespace sieve::testing {

class TrainedModelSuite : public ::testing::Test {
 protected:
  // Trains the tiny preset for `steps` steps on a made-up corpus drawn with `corpus_seed`;
  // a derived suite calls it from its SetUpTestSuite.
  static void train_model(std::uint64_t corpus_seed, int steps) {
    dir_ = new TempDir();
    write_made_up_corpus(corpus(), corpus_seed);
    const CommandResult trained =
        run_sieve("train --data " + corpus().string() + " --out " + model().string() + " --preset tiny --batch 4 " +
                  "--context 32 --steps " + std::to_string(steps) + " --warmup 1 --val-fraction 0.05 --eval-windows 2");
    ASSERT_EQ(trained.exit_code, 0) << trained.output;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static std::filesystem::path corpus() { return *dir_ / "corpus.txt"; }
  static std::filesystem::path model() { return *dir_ / "model"; }
  // A path in the suite's directory.
  static std::filesystem::path out(const std::string& name) { return *dir_ / name; }
  // `sieve eval` of `model_dir` on the whole corpus, context 32, at most `max_windows` windows.
  static std::string eval_command(const std::filesystem::path& model_dir, int max_windows) {
    return "eval --model " + model_dir.string() + " --data " + corpus().string() +
           " --split all --context 32 --max-windows " + std::to_string(max_windows);
  }

 private:
  static inline TempDir* dir_ = nullptr;
};

// The perplexity an eval line reports, as printed.
inline std::string perplexity_text(const std::string& output) {
  std::smatch match;
  EXPECT_TRUE(std::regex_search(output, match, std::regex("perplexity ([0-9.]+)"))) << output;
  return match.empty() ? "" : match[1].str();
}
inline double perplexity_of(const std::string& output) {
  const std::string text = perplexity_text(output);
  return text.empty() ? 0.0 : std::stod(text);
}

}  // namespace sieve::testing
