// The metrics stream (docs/metrics.md): run_dir/metrics.jsonl gets a start line, a train line
// per logged step and an eval line per validation, each one parseable JSON with the documented
// fields; a resumed run appends.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "sieve/nn/adapters/lora.h"
#include "train_test_util.h"

namespace sieve::train {
namespace {

using namespace testing;

std::vector<nlohmann::json> read_lines(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) {
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
    lines.push_back(nlohmann::json::parse(line, nullptr, false));
  }
  return lines;
}

std::vector<std::string> events(const std::vector<nlohmann::json>& lines) {
  std::vector<std::string> out;
  for (const auto& line : lines) out.push_back(line.at("event").get<std::string>() + "@" + line.at("step").dump());
  return out;
}

TEST(Metrics, EveryLoggedStepAndEvaluationIsAJsonLine) {
  sieve::testing::TempDir dir;
  const Shards shards = write_shards(dir.path());
  auto model = tiny_model();
  TrainerOptions options = small_options(4);
  options.log_interval = 2;
  options.eval_interval = 2;
  options.gradient_accumulation_steps = 2;
  options.run_dir = dir / "run";
  {
    Trainer trainer(model, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val), options);
    trainer.run();
  }
  const auto lines = read_lines(options.run_dir / kMetricsFile);
  EXPECT_EQ(events(lines),
            (std::vector<std::string>{"start@0", "eval@0", "train@2", "eval@2", "train@4", "eval@4"}));

  double last_time = -1.0;
  for (const auto& line : lines) {
    EXPECT_GT(line.at("unix_time").get<double>(), 1.5e9);
    if (line.at("event") == "start") {
      EXPECT_EQ(line.at("grad_accum"), 2);
      EXPECT_EQ(line.at("precision"), "fp32");
      EXPECT_EQ(line.at("loss_scaling"), false);
      continue;
    }
    const double time_s = line.at("time_s").get<double>();
    EXPECT_GE(time_s, last_time);
    last_time = time_s;
    if (line.at("event") == "eval") {
      const double val_loss = line.at("val_loss").get<double>();
      EXPECT_GT(val_loss, 0.0);
      EXPECT_DOUBLE_EQ(line.at("val_ppl").get<double>(), std::exp(val_loss));
      continue;
    }
    ASSERT_EQ(line.at("event"), "train");
    for (const char* key : {"loss", "lr", "grad_norm", "tokens_per_s", "peak_memory_mb", "peak_rss_mb"})
      EXPECT_GT(line.at(key).get<double>(), 0.0) << key;
    EXPECT_EQ(line.at("loss_scale").get<double>(), 1.0);
    EXPECT_EQ(line.at("skipped"), 0);
    EXPECT_EQ(line.at("skipped_total"), 0);
    EXPECT_EQ(line.at("applied_steps"), line.at("step"));
    EXPECT_EQ(line.at("precision"), "fp32");
  }

  // A resumed run appends to the same file.
  auto resumed = tiny_model();
  options.steps = 6;
  options.resume = true;
  Trainer trainer(resumed, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val), options);
  trainer.run();
  const auto all = read_lines(options.run_dir / kMetricsFile);
  ASSERT_EQ(all.size(), lines.size() + 4);
  EXPECT_EQ(events({all.begin() + static_cast<std::ptrdiff_t>(lines.size()), all.end()}),
            (std::vector<std::string>{"start@4", "eval@4", "train@6", "eval@6"}));
}

// Trains `model` for two steps into dir/run and returns its metrics lines.
std::vector<nlohmann::json> two_steps(nn::LlamaForCausalLM& model, const std::filesystem::path& dir,
                                      std::int64_t context) {
  std::filesystem::create_directories(dir);
  const Shards shards = write_shards(dir);
  TrainerOptions options = small_options(2);
  options.context = context;
  options.run_dir = dir / "run";
  Trainer trainer(model, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val), options);
  trainer.run();
  return read_lines(options.run_dir / kMetricsFile);
}

TEST(Metrics, StartCountsParametersAndTheTrainableShare) {
  sieve::testing::TempDir dir;
  auto model = tiny_model();
  const auto full = two_steps(model, dir / "full", 16);
  EXPECT_EQ(full.front().at("parameters"), model.parameter_count());
  EXPECT_EQ(full.front().at("trainable_parameters"), model.parameter_count());
  EXPECT_FALSE(full.front().contains("sparse_threshold")) << "a dense model has no sparse fields";
  for (const auto& line : full) EXPECT_FALSE(line.contains("dense_mass_coverage")) << line;

  auto adapted = tiny_model();
  nn::LoraOptions lora_options;
  lora_options.rank = 2;
  nn::apply_lora(adapted, lora_options);
  const auto lora = two_steps(adapted, dir / "lora", 16);
  EXPECT_EQ(lora.front().at("parameters"), adapted.parameter_count());
  EXPECT_EQ(lora.front().at("trainable_parameters"), adapted.trainable_parameter_count());
  EXPECT_LT(lora.front().at("trainable_parameters").get<std::int64_t>() * 10, adapted.parameter_count())
      << "LoRA trains a small share";
}

TEST(Metrics, SparseModelsReportTauTheCapAndDenseMassCoverage) {
  sieve::testing::TempDir dir;
  nn::LlamaConfig config = nn::preset_config("tiny");
  config.attention.type = "sparse";
  config.attention.window = 64;
  config.attention.global_cap = 16;
  config.attention.threshold = 0.4;
  config.attention.dense_below = 0;  // run the sparse kernel at this short context
  nn::LlamaForCausalLM model(config, 5);
  const auto lines = two_steps(model, dir.path(), 128);
  EXPECT_DOUBLE_EQ(lines.front().at("sparse_threshold").get<double>(), 0.4);
  EXPECT_EQ(lines.front().at("sparse_global_cap"), 16);
  int evals = 0;
  for (const auto& line : lines) {
    if (line.at("event") != "eval") continue;
    ++evals;
    const double coverage = line.at("dense_mass_coverage").get<double>();
    EXPECT_GT(coverage, 0.0);
    EXPECT_LE(coverage, 1.0 + 1e-6);
  }
  EXPECT_EQ(evals, 2);

  // Keep-ratio mode names its share; τ is null. A model whose sparse layers run dense measures no coverage.
  config.attention.keep_ratio = 0.25;
  config.attention.dense_below = 4096;
  nn::LlamaForCausalLM dense_running(config, 5);
  const auto ratio = two_steps(dense_running, dir / "ratio", 128);
  EXPECT_TRUE(ratio.front().at("sparse_threshold").is_null());
  EXPECT_DOUBLE_EQ(ratio.front().at("sparse_keep_ratio").get<double>(), 0.25);
  for (const auto& line : ratio) EXPECT_FALSE(line.contains("dense_mass_coverage")) << line;
}

TEST(Metrics, NoRunDirectoryMeansNoFile) {
  MetricsLog log;
  EXPECT_FALSE(log.enabled());
  log.write({{"event", "train"}});  // dropped, no crash
  sieve::testing::TempDir dir;
  MetricsLog real(dir / kMetricsFile);
  real.write({{"x", std::nan("")}});
  std::ifstream in(dir / kMetricsFile);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, R"({"x":null})") << "JSON has no NaN: non-finite numbers are written as null";
}

}  // namespace
}  // namespace sieve::train
