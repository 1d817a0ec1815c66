// LoRA end to end below the CLI: fine-tuning steps through the Trainer change only the adapters
// (the base stays bit-identical and gets no optimizer state), adapter files round-trip and reject
// mismatches with UserErrors, and a merged model directory reproduces the adapted model.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>

#include "sieve/data/token_shard.h"
#include "sieve/io/adapters.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/safetensors.h"
#include "sieve/nn/adapters/lora.h"
#include "sieve/nn/models/presets.h"
#include "sieve/train/adamw.h"
#include "sieve/train/trainer.h"
#include "temp_dir.h"
#include "random_token_ids.h"

namespace sieve {
namespace {

using core::Tensor;

using testing::token_ids;

// A shard of a short repeating token pattern: learnable, so the adapters get real gradients.
data::TokenShard write_shard(const std::filesystem::path& path, int vocab, std::uint64_t seed) {
  core::Rng rng(seed);
  std::vector<std::int32_t> tokens;
  for (int i = 0; i < 4000; ++i) tokens.push_back(static_cast<std::int32_t>((i * 7 + static_cast<int>(rng.below(3))) % vocab));
  data::write_token_shard(path, tokens, vocab, vocab - 1);
  return data::TokenShard::open(path);
}

std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const core::UserError& e) {
    return e.what();
  }
  return "(no UserError)";
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const auto x = a.to_vector(), y = b.to_vector();
  EXPECT_EQ(x.size(), y.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(static_cast<double>(x[i]) - y[i]));
  return worst;
}

const nn::LoraOptions kOptions{.rank = 4, .alpha = 8.0, .dropout = 0.05f, .targets = "attn,down_proj", .seed = 3};

TEST(LoraFinetune, FrozenBaseHasNoOptimizerState) {
  nn::LlamaForCausalLM model(nn::preset_config("tiny"), 1);
  nn::apply_lora(model, kOptions);
  const train::AdamW optimizer(model.named_parameters(), {});
  const nn::NamedTensors state = optimizer.state();
  ASSERT_EQ(state.size(), 2 * nn::lora_parameters(model).size());
  for (const auto& [name, tensor] : state) EXPECT_NE(name.find(".lora_"), std::string::npos) << name;
}

TEST(LoraFinetune, TrainerStepsChangeOnlyTheAdapters) {
  testing::TempDir dir;
  nn::LlamaForCausalLM model(nn::preset_config("tiny"), 1);
  std::map<std::string, Tensor> before;
  nn::apply_lora(model, kOptions);
  for (auto& [name, tensor] : model.named_parameters()) before.emplace(name, tensor.clone());
  const int vocab = static_cast<int>(model.config().vocab_size);
  train::TrainerOptions options;
  options.steps = 4;
  options.batch = 2;
  options.context = 32;
  options.schedule.peak_lr = 1e-2f;
  options.schedule.warmup_steps = 0;
  options.eval_windows = 2;
  options.log_interval = 100;
  train::Trainer trainer(model, write_shard(dir / "train.bin", vocab, 1), write_shard(dir / "val.bin", vocab, 2),
                         options);
  for (int i = 0; i < 4; ++i) trainer.step();
  for (auto& [name, tensor] : model.named_parameters()) {
    const auto now = tensor.to_vector(), then = before.at(name).to_vector();
    if (nn::is_lora_parameter(name)) {
      EXPECT_NE(now, then) << name << " did not train";
    } else {
      EXPECT_EQ(now, then) << name << " changed although frozen";
    }
  }
}

TEST(LoraFinetune, AdapterFileRoundTripsAndMergedModelMatches) {
  testing::TempDir dir;
  nn::LlamaForCausalLM model(nn::preset_config("tiny"), 1);
  nn::apply_lora(model, kOptions);
  core::Rng rng(5);
  for (auto& [name, tensor] : nn::lora_parameters(model)) {
    float* data = tensor.data<float>();
    for (std::int64_t i = 0; i < tensor.numel(); ++i) data[i] = static_cast<float>(rng.normal() * 0.05);
  }
  model.set_training(false);
  const Tensor ids = token_ids(2, 9, model.config().vocab_size, 7);
  const Tensor adapted = model.forward(ids);
  io::save_adapters(model, kOptions, dir / io::kAdapterFile);

  // Only adapter tensors in the file, with the settings as metadata.
  const io::SafetensorsFile file(dir / io::kAdapterFile);
  EXPECT_EQ(file.names().size(), nn::lora_parameters(model).size());
  const nn::LoraOptions read = io::read_adapter_options(dir / io::kAdapterFile);
  EXPECT_EQ(read.rank, kOptions.rank);
  EXPECT_EQ(read.alpha, kOptions.alpha);
  EXPECT_EQ(read.dropout, kOptions.dropout);
  EXPECT_EQ(read.targets, kOptions.targets);

  nn::LlamaForCausalLM fresh(nn::preset_config("tiny"), 1);
  io::load_adapters(fresh, dir / io::kAdapterFile);
  fresh.set_training(false);
  EXPECT_EQ(fresh.forward(ids).to_vector(), adapted.to_vector());
  EXPECT_EQ(fresh.trainable_parameter_count(), model.trainable_parameter_count());

  io::save_merged_model(model, dir / "merged");
  EXPECT_EQ(model.forward(ids).to_vector(), adapted.to_vector());  // the model is left unmerged
  const auto merged = io::load_model(dir / "merged");  // loads only if it holds no adapter tensors
  merged->set_training(false);
  EXPECT_LT(max_abs_diff(merged->forward(ids), adapted), 1e-4);
}

TEST(LoraFinetune, MismatchedAdapterFilesAreUserErrors) {
  testing::TempDir dir;
  nn::LlamaForCausalLM model(nn::preset_config("tiny"), 1);
  nn::apply_lora(model, kOptions);
  io::save_adapters(model, kOptions, dir / "a.safetensors");

  // Same names, other rank: the shapes disagree.
  nn::LlamaForCausalLM rank8(nn::preset_config("tiny"), 1);
  nn::LoraOptions other = kOptions;
  other.rank = 8;
  nn::apply_lora(rank8, other);
  EXPECT_NE(error_of([&] { io::load_adapters(rank8, dir / "a.safetensors"); })
                .find("'model.layers.0.self_attn.q_proj.lora_A.weight' is f32 [4, 64], the model expects f32 [8, 64]"),
            std::string::npos);

  // A model whose adapters cover fewer layers: the file's extra tensors are named.
  nn::LlamaForCausalLM fewer(nn::preset_config("tiny"), 1);
  other = kOptions;
  other.targets = "attn";
  nn::apply_lora(fewer, other);
  EXPECT_NE(error_of([&] { io::load_adapters(fewer, dir / "a.safetensors"); }).find("unexpected tensor"),
            std::string::npos);

  // A model with more adapted layers: the missing tensor is named.
  nn::LlamaForCausalLM more(nn::preset_config("tiny"), 1);
  other.targets = "all-linear";
  nn::apply_lora(more, other);
  EXPECT_NE(error_of([&] { io::load_adapters(more, dir / "a.safetensors"); }).find("no tensor 'model.layers.0.mlp"),
            std::string::npos);

  // A plain weights file is not an adapter file.
  io::save_parameters(model, dir / "model.safetensors");
  nn::LlamaForCausalLM plain(nn::preset_config("tiny"), 1);
  EXPECT_NE(error_of([&] { io::load_adapters(plain, dir / "model.safetensors"); }).find("not a LoRA adapter file"),
            std::string::npos);

  // Saving without adapters is refused.
  EXPECT_NE(error_of([&] { io::save_adapters(plain, kOptions, dir / "none.safetensors"); }).find("no LoRA adapters"),
            std::string::npos);
}

}  // namespace
}  // namespace sieve
