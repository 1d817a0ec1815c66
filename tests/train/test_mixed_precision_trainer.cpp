// MixedPrecisionTrainer on a small model directory and a small text: epochs become the planned
// steps, the loss falls, the input directory is left exactly as it was, and bad directories,
// options and precision modes are clear errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "sieve/core/error.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/nn/models/presets.h"
#include "sieve/train/mixed_precision_trainer.h"
#include "file_snapshot.h"
#include "temp_dir.h"

namespace sieve::train {
namespace {

namespace fs = std::filesystem;
using sieve::testing::TempDir;

using sieve::testing::read_bytes;
using sieve::testing::snapshot_dir;

// Pseudo-English documents from a small word list: easy to learn, so the loss falls fast.
void write_corpus(const fs::path& path, int documents) {
  const char* words[] = {"the", "river", "flows", "under", "a", "bridge", "model", "learns", "quick", "brown",
                         "fox", "jumps", "over", "lazy", "dog", "small", "word", "sense", "noun", "verb"};
  std::mt19937 rng(3);
  std::ofstream out(path);
  for (int d = 0; d < documents; ++d) {
    for (int s = 0; s < 3; ++s) {
      const int n = 5 + static_cast<int>(rng() % 8);
      for (int w = 0; w < n; ++w) out << (w ? " " : "") << words[rng() % std::size(words)];
      out << ".\n";
    }
    out << "\n";
  }
}

// A model directory: the tiny preset with a 32-token context, a 300-piece tokenizer trained on
// the corpus, and (optionally) seeded weights.
struct Fixture {
  TempDir dir;
  fs::path corpus = dir / "corpus.txt";
  fs::path model = dir / "base";

  explicit Fixture(bool with_weights = true) {
    write_corpus(corpus, 70);
    fs::create_directories(model);
    data::TokenizerTrainOptions tokenizer_options;
    tokenizer_options.inputs = {corpus};
    tokenizer_options.model_prefix = model / "tokenizer";
    tokenizer_options.vocab_size = 300;
    tokenizer_options.num_threads = 1;
    data::train_tokenizer(tokenizer_options);
    fs::remove(model / "tokenizer.vocab");
    nn::LlamaConfig config = nn::preset_config("tiny");
    config.vocab_size = 300;
    config.max_position_embeddings = 32;
    io::save_llama_config(model / io::kConfigFile, config);
    if (with_weights) io::save_model(nn::LlamaForCausalLM(config, 9), model);
  }

  MixedPrecisionTrainerOptions options() const {
    MixedPrecisionTrainerOptions options{.model_path = model,
                                         .precision_mode = "fp32",
                                         .gradient_accumulation_steps = 2,
                                         .loss_scale_window = 1024};
    options.batch = 2;
    options.context = 16;
    options.eval_windows = 8;
    options.log = false;
    return options;
  }
};

double mean(const std::vector<double>& values, std::size_t begin, std::size_t end) {
  double sum = 0.0;
  for (std::size_t i = begin; i < end; ++i) sum += values[i];
  return sum / static_cast<double>(end - begin);
}

TEST(MixedPrecisionTrainer, TrainsForTheEpochsAndLeavesTheInputModelAlone) {
  Fixture fixture;
  const auto before = snapshot_dir(fixture.model);
  MixedPrecisionTrainer trainer(fixture.options());
  EXPECT_EQ(trainer.output_dir(), fs::absolute(fixture.model).lexically_normal().concat("-trained"));
  const MixedPrecisionTrainResult result = trainer.train({.dataset = fixture.corpus.string(), .epochs = 1});

  // 2 rows × 16 tokens × 2 micro-batches per step; steps round up.
  EXPECT_EQ(result.tokens_per_step, 64);
  ASSERT_GT(result.train_tokens, 0);
  EXPECT_EQ(result.steps, (result.train_tokens + 63) / 64);
  EXPECT_GE(result.epochs, 1.0);
  EXPECT_LT(result.epochs, 1.0 + 64.0 / static_cast<double>(result.train_tokens));
  EXPECT_EQ(result.run.steps_done, result.steps);
  ASSERT_EQ(result.losses.size(), static_cast<std::size_t>(result.steps));
  EXPECT_EQ(result.precision.policy.compute, ops::ComputePrecision::f32);
  EXPECT_FALSE(result.loss_scaling);
  EXPECT_FALSE(result.own_validation);

  ASSERT_GE(result.losses.size(), 20u);
  EXPECT_LT(mean(result.losses, result.losses.size() - 5, result.losses.size()), mean(result.losses, 0, 5) - 0.3);
  EXPECT_LT(result.run.final_val_loss, result.run.initial_val_loss);

  EXPECT_EQ(snapshot_dir(fixture.model), before) << "the input model directory changed";
  for (const char* file : {io::kConfigFile, io::kWeightsFile, io::kTokenizerFile})
    EXPECT_TRUE(fs::exists(result.model_dir / file)) << file;
  EXPECT_TRUE(fs::exists(result.model_dir / "metrics.jsonl"));
  EXPECT_TRUE(fs::exists(result.model_dir / "checkpoints"));
  EXPECT_NE(read_bytes(result.model_dir / io::kWeightsFile), before.at(io::kWeightsFile));
  EXPECT_EQ(read_bytes(result.model_dir / io::kTokenizerFile), before.at(io::kTokenizerFile));
  EXPECT_NO_THROW(io::load_model(result.model_dir));
}

TEST(MixedPrecisionTrainer, EpochsToStepsRounding) {
  Fixture fixture;
  const MixedPrecisionTrainer trainer(fixture.options());  // 64 tokens per step
  EXPECT_EQ(trainer.steps_for_epochs(1.0, 640), 10);
  EXPECT_EQ(trainer.steps_for_epochs(1.0, 641), 11);
  EXPECT_EQ(trainer.steps_for_epochs(2.5, 640), 25);
  EXPECT_EQ(trainer.steps_for_epochs(0.001, 640), 1);
}

TEST(MixedPrecisionTrainer, ExplicitStepsAndAFreshModelWithoutWeights) {
  Fixture fixture(/*with_weights=*/false);
  MixedPrecisionTrainerOptions options = fixture.options();
  options.output_dir = fixture.dir / "run";
  MixedPrecisionTrainer trainer(options);
  const MixedPrecisionTrainResult result = trainer.train({.dataset = fixture.corpus.string(), .steps = 3});
  EXPECT_EQ(result.steps, 3);
  EXPECT_EQ(result.losses.size(), 3u);
  EXPECT_TRUE(fs::exists(fixture.dir / "run" / io::kWeightsFile));
  EXPECT_FALSE(fs::exists(fixture.model / io::kWeightsFile)) << "weights were written into the input directory";
}

TEST(MixedPrecisionTrainer, OutputIntoTheModelDirectoryOnlyWhenNoWeightsAreRead) {
  Fixture fixture;
  MixedPrecisionTrainerOptions options = fixture.options();
  options.output_dir = fixture.model;
  EXPECT_THROW(MixedPrecisionTrainer{options}, core::UserError);
  options.fresh_weights = true;
  EXPECT_NO_THROW(MixedPrecisionTrainer{options});
}

std::string construction_error(const MixedPrecisionTrainerOptions& options) {
  try {
    MixedPrecisionTrainer trainer(options);
  } catch (const core::UserError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(MixedPrecisionTrainer, ClearErrors) {
  Fixture fixture;
  MixedPrecisionTrainerOptions options = fixture.options();
  options.precision_mode = "fp8";
  EXPECT_NE(construction_error(options).find("--precision"), std::string::npos) << construction_error(options);

  options = fixture.options();
  options.model_path = fixture.dir / "missing";
  EXPECT_NE(construction_error(options).find("does not exist"), std::string::npos);

  fs::remove(fixture.model / io::kTokenizerFile);
  options = fixture.options();
  EXPECT_NE(construction_error(options).find("tokenizer.model"), std::string::npos);

  Fixture other;
  options = other.options();
  options.context = 64;  // the model's context is 32
  EXPECT_NE(construction_error(options).find("max_position_embeddings"), std::string::npos);

  MixedPrecisionTrainer trainer(other.options());
  EXPECT_THROW(trainer.train({.dataset = "no-such-dataset", .epochs = 1}), core::UserError);
  EXPECT_THROW(trainer.train({.dataset = other.corpus.string(), .epochs = 0}), core::UserError);
}

}  // namespace
}  // namespace sieve::train
