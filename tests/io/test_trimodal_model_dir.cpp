// The trimodal model directory: the parameters its config implies (trimodal_layout.h) against
// the ones the model registers, save and load, the family dispatch of load_any_model, and the
// checks made before a model is built.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "sieve/core/allocator.h"
#include "sieve/core/atomic_file.h"
#include "sieve/core/error.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/model_family.h"
#include "sieve/io/safetensors.h"
#include "sieve/io/trimodal_config.h"
#include "sieve/io/trimodal_layout.h"
#include "sieve/io/trimodal_model_dir.h"
#include "sieve/nn/models/presets.h"
#include "sieve/ops/shape_ops.h"
#include "temp_dir.h"
#include "tiny_trimodal.h"

namespace sieve::io {
namespace {

using nlohmann::json;
using testing::TempDir;
using testing::tiny_trimodal_config;

template <typename Call>
std::string user_error(Call call) {
  try {
    call();
  } catch (const core::UserError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted";
  return "";
}

bool same_bits(const core::Tensor& a, const core::Tensor& b) {
  const core::Tensor x = ops::contiguous(a), y = ops::contiguous(b);
  return x.shape() == y.shape() && x.dtype() == y.dtype() &&
         std::memcmp(x.data<float>(), y.data<float>(), static_cast<std::size_t>(x.numel()) * sizeof(float)) == 0;
}

constexpr nn::FusionMode kFusionModes[] = {nn::FusionMode::kCmaf, nn::FusionMode::kFixed, nn::FusionMode::kConcat};

// The layout restates the model: the same names, in registration order, with the same shapes.
TEST(TriModalLayout, MatchesTheBuiltModel) {
  for (const nn::FusionMode fusion : kFusionModes) {
    for (nn::TriModalConfig c : {tiny_trimodal_config(fusion), nn::TriModalConfig{}}) {
      c.fusion = fusion;
      SCOPED_TRACE(std::string(nn::fusion_mode_name(fusion)) + " hidden " + std::to_string(c.hidden_size));
      const nn::TriModalModel model(c, 0);
      const nn::NamedTensors built = model.named_parameters();
      const std::vector<TensorSpec> specs = trimodal_parameters(c);
      ASSERT_EQ(specs.size(), built.size());
      for (std::size_t i = 0; i < specs.size(); ++i) {
        EXPECT_EQ(specs[i].name, built[i].first);
        EXPECT_EQ(specs[i].shape, built[i].second.shape()) << specs[i].name;
      }
    }
  }
}

// The footprint's parameter count is the model's, for configs that vary every size field.
TEST(TriModalLayout, ParameterCountFormula) {
  std::vector<nn::TriModalConfig> configs{tiny_trimodal_config(), nn::TriModalConfig{}};
  nn::TriModalConfig odd = tiny_trimodal_config(nn::FusionMode::kConcat);
  odd.hidden_size = 12;
  odd.num_heads = 3;
  odd.num_layers = 3;
  odd.intermediate_size = 7;
  odd.vocab_size = 11;
  odd.max_text_tokens = 5;
  odd.image_patch = 3;
  odd.max_image_side = 9;
  odd.image_channels = 5;
  odd.n_mels = 13;  // ceil(13 / 8) = 2 mel columns after the convs
  odd.audio_channels = 3;
  odd.max_audio_tokens = 7;
  odd.fusion_layers = 3;
  odd.embed_dim = 4;
  odd.num_classes = 2;
  odd.num_words = 9;
  odd.num_answers = 1;
  configs.push_back(odd);
  odd.fusion = nn::FusionMode::kCmaf;
  configs.push_back(odd);
  for (const nn::TriModalConfig& c : configs) {
    const nn::TriModalModel model(c, 0);
    const ModelFootprint f = trimodal_footprint(c, "config.json");
    EXPECT_EQ(f.parameters, model.parameter_count());
    EXPECT_EQ(f.parameter_tensors, static_cast<std::int64_t>(model.named_parameters().size()));
    EXPECT_EQ(f.bytes, 4 * f.parameters + kBookkeepingBytesPerTensor * f.parameter_tensors);
  }
}

class TriModalDir : public ::testing::Test {
 protected:
  void SetUp() override { save_trimodal_model(nn::TriModalModel(tiny_trimodal_config(), 5), dir_.path()); }

  // load_trimodal_model fails with a UserError, having allocated no tensor memory.
  std::string fails_without_allocating() {
    const std::uint64_t before = core::allocator().stats().allocations;
    const std::string message = user_error([&] { (void)load_trimodal_model(dir_.path()); });
    EXPECT_EQ(core::allocator().stats().allocations, before) << "allocated before failing: " << message;
    return message;
  }

  TempDir dir_;
};

TEST_F(TriModalDir, SaveAndLoadAreExact) {
  EXPECT_EQ(dir_.entries(), (std::vector<std::string>{"config.json", "model.safetensors"}));
  const nn::TriModalModel original(tiny_trimodal_config(), 5);
  const auto loaded = load_trimodal_model(dir_.path());
  EXPECT_EQ(loaded->config(), original.config());
  const nn::NamedTensors a = original.named_parameters(), b = loaded->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(same_bits(a[i].second, b[i].second)) << a[i].first;

  const nn::ImageBatch image = testing::tiny_image_batch(2, 8, 1);
  const nn::TextBatch text = testing::tiny_text_batch({5, 2}, 6, 20, 2);
  const nn::AudioBatch audio = testing::tiny_audio_batch({20, 9}, 24, 8, 3);
  EXPECT_TRUE(same_bits(original.classify_image(image), loaded->classify_image(image)));
  EXPECT_TRUE(same_bits(original.text_lm_logits(text), loaded->text_lm_logits(text)));
  EXPECT_TRUE(same_bits(original.classify_spoken_word(audio), loaded->classify_spoken_word(audio)));
  const nn::FusionInputs inputs{&image, &text, &audio};
  EXPECT_TRUE(same_bits(original.answer_logits(original.fuse(inputs).fused),
                        loaded->answer_logits(loaded->fuse(inputs).fused)));
}

TEST_F(TriModalDir, LoadAnyModelPicksTheFamily) {
  EXPECT_EQ(model_family(dir_.path()), "sieve_trimodal");
  const std::unique_ptr<nn::Model> trimodal = load_any_model(dir_.path());
  EXPECT_EQ(trimodal->family(), "sieve_trimodal");
  ASSERT_NE(dynamic_cast<nn::TriModalModel*>(trimodal.get()), nullptr);

  TempDir llama_dir;
  nn::LlamaConfig llama_config = nn::preset_config("tiny");
  llama_config.vocab_size = 64;
  save_model(nn::LlamaForCausalLM(llama_config, 1), llama_dir.path());
  EXPECT_EQ(model_family(llama_dir.path()), "llama");
  const std::unique_ptr<nn::Model> llama = load_any_model(llama_dir.path());
  EXPECT_EQ(llama->family(), "llama");
  ASSERT_NE(dynamic_cast<nn::LlamaForCausalLM*>(llama.get()), nullptr);

  // save_any_model writes each with its family's writer: the copies load as the originals.
  TempDir copies;
  save_any_model(*trimodal, copies / "trimodal");
  save_any_model(*llama, copies / "llama");
  EXPECT_EQ(load_trimodal_model(copies / "trimodal")->config(), tiny_trimodal_config());
  EXPECT_EQ(load_model(copies / "llama")->parameter_count(), llama->parameter_count());

  // A config without model_type is a LLaMA one (HF configs before model_type, and
  // parse_llama_config accepts them).
  json plain = read_config_json(llama_dir / kConfigFile);
  plain.erase("model_type");
  plain.erase("architectures");
  core::write_file_atomically(llama_dir / kConfigFile, plain.dump());
  EXPECT_EQ(model_family(llama_dir.path()), "llama");
  EXPECT_EQ(load_any_model(llama_dir.path())->family(), "llama");
}

TEST_F(TriModalDir, FamilyErrors) {
  const std::string missing = user_error([&] { (void)load_any_model(dir_ / "nowhere"); });
  EXPECT_NE(missing.find("does not exist"), std::string::npos) << missing;

  json config = read_config_json(dir_ / kConfigFile);
  config["model_type"] = "mistral";
  core::write_file_atomically(dir_ / kConfigFile, config.dump());
  std::string message = user_error([&] { (void)load_any_model(dir_.path()); });
  EXPECT_NE(message.find("\"mistral\""), std::string::npos) << message;
  EXPECT_NE(message.find("llama, sieve_trimodal"), std::string::npos) << message;

  config["model_type"] = json::array({"sieve_trimodal"});
  core::write_file_atomically(dir_ / kConfigFile, config.dump());
  message = user_error([&] { (void)model_family(dir_.path()); });
  EXPECT_NE(message.find("'model_type'"), std::string::npos) << message;
}

// Each loader refuses the other family's directory with a message that says what it holds.
TEST_F(TriModalDir, LoadersRefuseTheOtherFamily) {
  std::string message = user_error([&] { (void)load_model(dir_.path()); });
  EXPECT_NE(message.find("is a sieve_trimodal model directory"), std::string::npos) << message;
  message = user_error([&] { (void)load_llama_config(dir_ / kConfigFile); });
  EXPECT_NE(message.find("'model_type'"), std::string::npos) << message;
  EXPECT_NE(message.find("trimodal"), std::string::npos) << message;

  TempDir llama_dir;
  nn::LlamaConfig llama_config = nn::preset_config("tiny");
  llama_config.vocab_size = 64;
  save_model(nn::LlamaForCausalLM(llama_config, 1), llama_dir.path());
  message = user_error([&] { (void)load_trimodal_model(llama_dir.path()); });
  EXPECT_NE(message.find("is a llama model directory, not a sieve_trimodal one"), std::string::npos) << message;
}

TEST_F(TriModalDir, WeightsThatDoNotFitTheConfigFailBeforeTheModelIsBuilt) {
  nn::TriModalConfig more_classes = tiny_trimodal_config();
  more_classes.num_classes = 7;
  save_trimodal_config(dir_ / kConfigFile, more_classes);
  std::string message = fails_without_allocating();
  EXPECT_NE(message.find("tensor 'class_head.weight' is F32 [3, 16], but"), std::string::npos) << message;
  EXPECT_NE(message.find("needs F32 [7, 16] (num_classes x hidden_size)"), std::string::npos) << message;

  nn::TriModalConfig deeper = tiny_trimodal_config();
  deeper.num_layers = 2;
  save_trimodal_config(dir_ / kConfigFile, deeper);
  message = fails_without_allocating();
  EXPECT_NE(message.find("no tensor 'trunk.layers.1."), std::string::npos) << message;

  // Fixed α has no alpha_logits: the cmaf weights hold tensors the config does not imply.
  save_trimodal_config(dir_ / kConfigFile, tiny_trimodal_config(nn::FusionMode::kFixed));
  message = fails_without_allocating();
  EXPECT_NE(message.find("unexpected tensor 'fusion.layers.0.alpha_logits'"), std::string::npos) << message;

  // A large model the limit allows, whose weights do not match, is refused from the header alone.
  nn::TriModalConfig large = tiny_trimodal_config();
  large.vocab_size = 1 << 20;
  large.hidden_size = 2048;
  large.num_heads = 16;
  save_trimodal_config(dir_ / kConfigFile, large);
  message = fails_without_allocating();
  EXPECT_NE(message.find("model.safetensors"), std::string::npos) << message;

  // Missing or unreadable weights.
  save_trimodal_config(dir_ / kConfigFile, tiny_trimodal_config());
  std::filesystem::remove(dir_ / kWeightsFile);
  message = fails_without_allocating();
  EXPECT_NE(message.find("model.safetensors"), std::string::npos) << message;
}

TEST_F(TriModalDir, WrongDtypeIsRefused) {
  const nn::TriModalModel model(tiny_trimodal_config(), 5);
  nn::NamedTensors tensors = model.named_parameters();
  for (auto& [name, tensor] : tensors)
    if (name == "log_temperature") tensor = core::Tensor::zeros({1}, core::DType::bf16);
  save_safetensors(dir_ / kWeightsFile, tensors, {});
  const std::string message = fails_without_allocating();
  EXPECT_NE(message.find("'log_temperature' is BF16 [1], but"), std::string::npos) << message;
}

}  // namespace
}  // namespace sieve::io
