// State dicts saved by PyTorch (torch.save of a module tree with Hugging Face's LLaMA names, in
// float32, float16 and bfloat16) import into Sieve model directories that give the reference
// model's logits; checkpoints that do not fit the config are refused clearly.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "close_tensors.h"
#include "sieve/convert_torch/llama_state_dict.h"
#include "sieve/core/error.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/safetensors.h"
#include "temp_dir.h"
#include "torch_python.h"

namespace sieve::convert_torch {
namespace {

namespace fs = std::filesystem;
using sieve::testing::run_torch_script;
using sieve::testing::TempDir;

fs::path fixture_config(const std::string& fixture) { return fs::path(SIEVE_FIXTURE_DIR) / fixture / "config.json"; }

// Imports `checkpoint` with `config` into dir/imported and checks Sieve's logits against `expected`.
ImportSummary import_and_compare(const fs::path& checkpoint, const fs::path& config, const fs::path& expected,
                                 const fs::path& out) {
  const TorchCheckpoint opened = TorchCheckpoint::open_file(checkpoint);
  const ImportSummary summary = import_llama_checkpoint(opened, io::read_config_json(config), config.string(), out);
  auto model = io::load_model(out);
  model->set_training(false);
  const auto reference = io::load_safetensors(expected);
  sieve::testing::expect_close(model->forward(reference.at("input_ids")), reference.at("logits"), 1e-4, 1e-5,
                               "logits of " + checkpoint.string());
  return summary;
}

// Every fixture (GQA and untied; tied) in every dtype, saved by one run of the script.
TEST(ImportPyTorch, GivesTheReferenceLogitsInEveryDtype) {
  TempDir dir;
  std::string commands;
  const auto name = [](const std::string& fixture, const std::string& dtype) { return fixture + "-" + dtype; };
  for (const std::string fixture : {"golden_llama", "golden_llama_tied"})
    for (const std::string dtype : {"float32", "float16", "bfloat16"})
      commands += (commands.empty() ? "" : " + ") + std::string("state-dict ") + fixture_config(fixture).string() + " " +
                  (dir / (name(fixture, dtype) + ".bin")).string() + " " +
                  (dir / (name(fixture, dtype) + ".safetensors")).string() + " --dtype " + dtype + " --seed 3";
  run_torch_script(commands);
  for (const std::string fixture : {"golden_llama", "golden_llama_tied"}) {
    for (const std::string dtype : {"float32", "float16", "bfloat16"}) {
      SCOPED_TRACE(name(fixture, dtype));
      const fs::path out = dir / name(fixture, dtype);
      const ImportSummary summary = import_and_compare(dir / (name(fixture, dtype) + ".bin"), fixture_config(fixture),
                                                       dir / (name(fixture, dtype) + ".safetensors"), out);
      EXPECT_EQ(summary.dtypes, std::vector<std::string>{dtype});
      const bool tied = fixture == "golden_llama_tied";
      // HF's state_dict() saves a tied lm_head as a second name for the embeddings.
      EXPECT_EQ(summary.skipped.size(), tied ? 1u : 0u);
      EXPECT_EQ(io::SafetensorsFile(out / "model.safetensors").contains("lm_head.weight"), !tied);
    }
  }
}

// Transposed (column-major) weights and the inv_freq buffers older transformers saved.
TEST(ImportPyTorchLayout, StridedTensorsAndRotaryBuffers) {
  TempDir dir;
  run_torch_script("state-dict " + fixture_config("golden_llama").string() + " " + (dir / "model.bin").string() +
                   " " + (dir / "expected.safetensors").string() + " --dtype bfloat16 --noncontiguous --inv-freq");
  const TorchCheckpoint checkpoint = TorchCheckpoint::open_file(dir / "model.bin");
  const auto q = std::find_if(checkpoint.tensors().begin(), checkpoint.tensors().end(), [](const PickledTensor& t) {
    return t.name == "model.layers.0.self_attn.q_proj.weight";
  });
  ASSERT_NE(q, checkpoint.tensors().end());
  EXPECT_EQ(q->strides, (std::vector<std::int64_t>{1, 48}));  // column-major: the view the test means
  const ImportSummary summary = import_and_compare(dir / "model.bin", fixture_config("golden_llama"),
                                                   dir / "expected.safetensors", dir / "imported");
  EXPECT_EQ(summary.skipped.size(), 2u);  // one inv_freq per layer
}

void write_json(const fs::path& path, const nlohmann::json& json) { std::ofstream(path) << json.dump(2); }

TEST(ImportPyTorchErrors, CheckpointThatDoesNotFitTheConfig) {
  TempDir dir;
  run_torch_script("state-dict " + fixture_config("golden_llama").string() + " " + (dir / "model.bin").string() +
                   " " + (dir / "expected.safetensors").string());
  const TorchCheckpoint checkpoint = TorchCheckpoint::open_file(dir / "model.bin");
  nlohmann::json config = io::read_config_json(fixture_config("golden_llama"));
  const auto refused = [&](const nlohmann::json& json, const std::string& expected_message) {
    write_json(dir / "config.json", json);
    try {
      import_llama_checkpoint(checkpoint, json, (dir / "config.json").string(), dir / "out");
      ADD_FAILURE() << "accepted; expected: " << expected_message;
    } catch (const core::UserError& e) {
      EXPECT_NE(std::string(e.what()).find(expected_message), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(dir / "out" / "model.safetensors"));
  };
  nlohmann::json fewer_layers = config;
  fewer_layers["num_hidden_layers"] = 1;
  refused(fewer_layers, "unexpected tensor 'model.layers.1.");
  nlohmann::json more_layers = config;
  more_layers["num_hidden_layers"] = 3;
  refused(more_layers, "no tensor 'model.layers.2.");
  nlohmann::json wider = config;
  wider["intermediate_size"] = 96;
  refused(wider, "tensor 'model.layers.0.mlp.gate_proj.weight' is [80, 48], but");
  nlohmann::json tied = config;
  tied["tie_word_embeddings"] = true;
  refused(tied, "lm_head.weight differs from model.embed_tokens.weight");
}

}  // namespace
}  // namespace sieve::convert_torch
