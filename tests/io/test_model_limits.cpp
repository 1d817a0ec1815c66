#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "sieve/core/allocator.h"
#include "sieve/core/error.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/model_layout.h"
#include "sieve/io/model_limits.h"
#include "sieve/io/safetensors.h"
#include "temp_dir.h"

namespace sieve::io {
namespace {

using testing::TempDir;

// Sets the process's model limit for one test.
class ModelLimit {
 public:
  explicit ModelLimit(std::uint64_t bytes) { set_max_model_bytes(bytes); }
  ~ModelLimit() { set_max_model_bytes(0); }
};

nn::LlamaConfig tiny_config() {
  nn::LlamaConfig c;
  c.vocab_size = 32;
  c.hidden_size = 8;
  c.intermediate_size = 16;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.max_position_embeddings = 32;
  return c;
}

std::string user_error(const std::function<void()>& action) {
  try {
    action();
  } catch (const core::UserError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no UserError";
  return {};
}

TEST(ModelLimits, DefaultIsThePhysicalMemory) {
  EXPECT_GT(physical_memory_bytes(), std::uint64_t{64} << 20);
  EXPECT_EQ(max_model_bytes(), physical_memory_bytes());
  {
    ModelLimit limit(12345);
    EXPECT_EQ(max_model_bytes(), 12345u);
  }
  EXPECT_EQ(max_model_bytes(), physical_memory_bytes());
}

TEST(ModelLimits, ConfigOverTheLimitNamesFileFieldsAndLimit) {
  nn::LlamaConfig c = tiny_config();
  EXPECT_NO_THROW(check_model_fits(c, "config.json"));
  c.vocab_size = 1 << 20;
  c.hidden_size = 1 << 10;  // 2^30 parameters in each of the embedding and the head: 8 GiB
  ModelLimit limit(std::uint64_t{1} << 30);
  const std::string message = user_error([&] { check_model_fits(c, "run/config.json"); });
  EXPECT_NE(message.find("run/config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("8.0 GiB"), std::string::npos) << message;
  EXPECT_NE(message.find("model.embed_tokens.weight [1048576, 1024]"), std::string::npos) << message;
  EXPECT_NE(message.find("vocab_size x hidden_size"), std::string::npos) << message;
  EXPECT_NE(message.find("1.0 GiB limit (set for this run)"), std::string::npos) << message;
}

// Many tiny layers cost more than their parameters: each tensor brings a module and a handle.
TEST(ModelLimits, BookkeepingCountsForDeepThinModels) {
  nn::LlamaConfig c = tiny_config();
  c.hidden_size = 2;
  c.intermediate_size = 1;
  c.num_attention_heads = 1;
  c.num_key_value_heads = 1;
  c.num_hidden_layers = 1 << 20;
  const ModelFootprint f = llama_footprint(c, "config.json");
  EXPECT_LT(4 * f.parameters, std::int64_t{128} << 20);
  ModelLimit limit(std::uint64_t{1} << 30);
  EXPECT_THROW(check_model_fits(c, "config.json"), core::UserError);  // 9 Mi tensors, ~9 GiB
}

TEST(ModelLimits, LoadLlamaConfigChecksTheLimit) {
  TempDir dir;
  std::ofstream(dir / "config.json") << R"({"vocab_size": 1073741824, "hidden_size": 1073741824,
      "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2})";
  const std::string message = user_error([&] { load_llama_config(dir / "config.json"); });
  EXPECT_NE(message.find((dir / "config.json").string()), std::string::npos) << message;
}

class LoadModel : public ::testing::Test {
 protected:
  void SetUp() override { save_model(nn::LlamaForCausalLM(tiny_config(), 3), dir_.path()); }

  void write_config(const nn::LlamaConfig& config) { save_llama_config(dir_ / kConfigFile, config); }

  // load_model fails with a UserError, having allocated no tensor memory.
  std::string fails_without_allocating() {
    const std::uint64_t before = core::allocator().stats().allocations;
    const std::string message = user_error([&] { load_model(dir_.path()); });
    EXPECT_EQ(core::allocator().stats().allocations, before) << "load_model allocated before failing: " << message;
    return message;
  }

  TempDir dir_;
};

TEST_F(LoadModel, LoadsAMatchingDirectory) {
  const auto model = load_model(dir_.path());
  EXPECT_EQ(model->parameter_count(), nn::LlamaForCausalLM(tiny_config(), 3).parameter_count());
}

TEST_F(LoadModel, WeightsThatDoNotFitTheConfigFailBeforeTheModelIsBuilt) {
  nn::LlamaConfig wider = tiny_config();
  wider.intermediate_size = 24;
  write_config(wider);
  std::string message = fails_without_allocating();
  EXPECT_NE(message.find("mlp.gate_proj.weight' is F32 [16, 8], but"), std::string::npos) << message;
  EXPECT_NE(message.find("needs F32 [24, 8] (intermediate_size x hidden_size)"), std::string::npos) << message;

  nn::LlamaConfig deeper = tiny_config();
  deeper.num_hidden_layers = 3;
  write_config(deeper);
  message = fails_without_allocating();
  EXPECT_NE(message.find("no tensor 'model.layers.2."), std::string::npos) << message;

  nn::LlamaConfig tied = tiny_config();
  tied.tie_word_embeddings = true;
  write_config(tied);
  message = fails_without_allocating();
  EXPECT_NE(message.find("unexpected tensor 'lm_head.weight'"), std::string::npos) << message;

  // A large model (2 GiB) whose weights are the tiny ones: refused at once, nothing built.
  nn::LlamaConfig large = tiny_config();
  large.vocab_size = 1 << 16;
  large.hidden_size = 1 << 12;
  write_config(large);
  message = fails_without_allocating();
  EXPECT_NE(message.find("model.safetensors"), std::string::npos) << message;
}

TEST_F(LoadModel, DtypeMismatchIsNamed) {
  auto tensors = load_safetensors(dir_ / kWeightsFile);
  std::vector<std::pair<std::string, core::Tensor>> changed(tensors.begin(), tensors.end());
  for (auto& [name, tensor] : changed)
    if (name == "model.norm.weight") tensor = core::Tensor::zeros(tensor.shape(), core::DType::bf16);
  save_safetensors(dir_ / kWeightsFile, changed);
  const std::string message = fails_without_allocating();
  EXPECT_NE(message.find("'model.norm.weight' is BF16 [8]"), std::string::npos) << message;
}

TEST_F(LoadModel, AdjustedConfigIsCheckedAgain) {
  ModelLimit limit(std::uint64_t{1} << 20);
  const std::string message = user_error([&] {
    load_model(dir_.path(), [](nn::LlamaConfig& c) { c.vocab_size = 1 << 20; });
  });
  EXPECT_NE(message.find("with the command-line attention settings"), std::string::npos) << message;
  EXPECT_NE(message.find("1.0 MiB limit"), std::string::npos) << message;
}

}  // namespace
}  // namespace sieve::io
