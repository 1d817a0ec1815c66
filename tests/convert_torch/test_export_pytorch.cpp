// Sieve model directories export to state dicts that PyTorch loads with
// torch.load(weights_only=True) into its reference model, giving Sieve's logits; an export
// imports back to the same weights.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "close_tensors.h"
#include "sieve/convert_torch/checkpoint_writer.h"
#include "sieve/convert_torch/llama_state_dict.h"
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

// Both fixtures (GQA and untied; tied), loaded by one run of the script.
TEST(ExportPyTorchToTorch, TorchLoadsItWithTheSameLogits) {
  TempDir dir;
  std::string commands;
  for (const std::string fixture : {"golden_llama", "golden_llama_tied"}) {
    const fs::path source = fs::path(SIEVE_FIXTURE_DIR) / fixture;
    save_torch_checkpoint(dir / (fixture + ".bin"), llama_state_dict(*io::load_model(source)));
    // The script also checks that every storage record's data starts on a multiple of 64 bytes.
    commands += (commands.empty() ? "" : " + ") + std::string("logits ") + (dir / (fixture + ".bin")).string() + " " +
                (source / "config.json").string() + " " + (dir / (fixture + ".safetensors")).string();
  }
  run_torch_script(commands);
  for (const std::string fixture : {"golden_llama", "golden_llama_tied"}) {
    SCOPED_TRACE(fixture);
    auto model = io::load_model(fs::path(SIEVE_FIXTURE_DIR) / fixture);
    model->set_training(false);
    const auto torch = io::load_safetensors(dir / (fixture + ".safetensors"));
    sieve::testing::expect_close(model->forward(torch.at("input_ids")), torch.at("logits"), 1e-4, 1e-5,
                                 "Sieve's logits against PyTorch's on the exported weights");
  }
}

class ExportPyTorch : public ::testing::TestWithParam<const char*> {};

TEST_P(ExportPyTorch, ImportsBackToTheSameWeights) {
  const fs::path fixture = fs::path(SIEVE_FIXTURE_DIR) / GetParam();
  TempDir dir;
  const auto model = io::load_model(fixture);
  save_torch_checkpoint(dir / "model.bin", llama_state_dict(*model));
  const fs::path config = fixture / "config.json";
  import_llama_checkpoint(TorchCheckpoint::open_file(dir / "model.bin"), io::read_config_json(config), config.string(),
                          dir / "back");
  const auto original = io::load_safetensors(fixture / "model.safetensors");
  const auto back = io::load_safetensors(dir / "back" / "model.safetensors");
  ASSERT_EQ(original.size(), back.size());
  for (const auto& [name, tensor] : original) {
    ASSERT_TRUE(back.contains(name)) << name;
    const core::Tensor& other = back.at(name);
    ASSERT_EQ(tensor.shape(), other.shape()) << name;
    EXPECT_EQ(std::memcmp(tensor.data<float>(), other.data<float>(), tensor.nbytes()), 0) << name;
  }
  EXPECT_EQ(io::parse_llama_config(io::read_config_json(dir / "back" / "config.json"), "back").vocab_size,
            model->config().vocab_size);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ExportPyTorch, ::testing::Values("golden_llama", "golden_llama_tied"));

}  // namespace
}  // namespace sieve::convert_torch
