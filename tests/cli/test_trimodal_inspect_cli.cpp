// `sieve inspect` on a trimodal model directory (tests/fixtures/golden_trimodal): its family,
// config and the parameters of each part; its errors; and the LLaMA verbs' message for it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "run_sieve.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using sieve::testing::run_sieve;
using sieve::testing::TempDir;

const fs::path kTriModalModel = fs::path(SIEVE_FIXTURE_DIR) / "golden_trimodal";

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// A copy of the fixture whose config.json has `from` replaced by `to`.
fs::path edited_copy(const TempDir& dir, const std::string& from, const std::string& to) {
  fs::copy(kTriModalModel, dir.path(), fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  std::ifstream in(dir / "config.json");
  std::string text(std::istreambuf_iterator<char>(in), {});
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  std::ofstream(dir / "config.json") << text;
  return dir.path();
}

TEST(TriModalInspectCli, ShowsFamilyConfigAndParametersPerPart) {
  const auto result = run_sieve("inspect " + kTriModalModel.string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const std::string line :
       {"family            sieve_trimodal (SieveTriModalModel)", "hidden_size       16", "trunk layers      2",
        "attention heads   2 (head dim 8)", "fusion            cmaf, fusion_layers 1",
        "image             image_patch 4, image_channels 3, max_image_side 12 (3x3 patches)",
        "parameters        9.8K total",
        // conv 3·9 + 3, patch 16·16·3 + 16, row and column 2 · 3·16, modality 16
        "  image_stem      926\n",
        // positions 8·16, modality 16, tokens 20·16
        "  text_stem       464\n", "  trunk           4.4K\n", "  fusion          3.3K\n", "  heads           510"})
    EXPECT_TRUE(contains(result.output, line)) << line << "\n" << result.output;
}

TEST(TriModalInspectCli, LlamaOutputIsUnchanged) {
  const auto result = run_sieve("inspect " + (fs::path(SIEVE_FIXTURE_DIR) / "golden_llama").string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "architecture      LlamaForCausalLM (dense attention)")) << result.output;
  EXPECT_FALSE(contains(result.output, "family")) << result.output;
}

TEST(TriModalInspectCli, BadDirectoriesAreClearErrors) {
  {
    TempDir dir;
    const auto result = run_sieve("inspect " + edited_copy(dir, "\"sieve_trimodal\"", "\"mistral\"").string());
    EXPECT_EQ(result.exit_code, 2) << result.output;
    EXPECT_TRUE(contains(result.output, "model_type")) << result.output;
  }
  {
    TempDir dir;
    const auto result = run_sieve("inspect " + edited_copy(dir, "\"num_classes\": 3", "\"num_classes\": 4").string());
    EXPECT_EQ(result.exit_code, 2) << result.output;
    EXPECT_TRUE(contains(result.output, "class_head.weight")) << result.output;
    EXPECT_TRUE(contains(result.output, "num_classes x hidden_size")) << result.output;
  }
  {
    TempDir dir;
    const auto result = run_sieve("inspect " + edited_copy(dir, "\"fusion\": \"cmaf\"", "\"fusion\": \"gated\"").string());
    EXPECT_EQ(result.exit_code, 2) << result.output;
    EXPECT_TRUE(contains(result.output, "'fusion'")) << result.output;
  }
  {
    const auto result = run_sieve("inspect " + kTriModalModel.string() + " --max-model-bytes 16K");
    EXPECT_EQ(result.exit_code, 2) << result.output;
    EXPECT_TRUE(contains(result.output, "the model would take")) << result.output;
  }
}

TEST(TriModalInspectCli, LlamaVerbsNameATriModalDirectory) {
  const auto result = run_sieve("generate --prompt hi --model " + kTriModalModel.string());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_TRUE(contains(result.output, "is a sieve_trimodal model directory")) << result.output;
}

}  // namespace
