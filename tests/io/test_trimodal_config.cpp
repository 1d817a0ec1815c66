#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "sieve/core/error.h"
#include "sieve/io/model_limits.h"
#include "sieve/io/trimodal_config.h"
#include "temp_dir.h"
#include "tiny_trimodal.h"

namespace sieve::io {
namespace {

using nlohmann::json;
using testing::TempDir;

// The message of the UserError `parse` throws ("" and a test failure if it throws none).
template <typename Parse>
std::string user_error(Parse parse) {
  try {
    parse();
  } catch (const core::UserError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted";
  return "";
}

TEST(TriModalConfig, RoundTripsThroughJson) {
  for (const nn::FusionMode fusion : {nn::FusionMode::kCmaf, nn::FusionMode::kFixed, nn::FusionMode::kConcat}) {
    nn::TriModalConfig c = testing::tiny_trimodal_config(fusion);
    c.norm_eps = 1e-6;
    const json j = trimodal_config_to_json(c);
    EXPECT_EQ(j.at("model_type"), "sieve_trimodal");
    EXPECT_EQ(j.at("architectures"), json::array({"SieveTriModalModel"}));
    EXPECT_EQ(parse_trimodal_config(j, "c"), c);
    EXPECT_EQ(parse_trimodal_config_text(j.dump(2), "c"), c);
  }
  EXPECT_EQ(parse_trimodal_config(trimodal_config_to_json(nn::TriModalConfig{}), "c"), nn::TriModalConfig{});
}

TEST(TriModalConfig, SaveAndLoad) {
  TempDir dir;
  const nn::TriModalConfig c = testing::tiny_trimodal_config(nn::FusionMode::kConcat);
  save_trimodal_config(dir / "config.json", c);
  EXPECT_EQ(load_trimodal_config(dir / "config.json"), c);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"config.json"});
}

// Every field the writer writes is required.
TEST(TriModalConfig, EveryFieldIsRequired) {
  const json valid = trimodal_config_to_json(testing::tiny_trimodal_config());
  for (const auto& [key, unused] : valid.items()) {
    SCOPED_TRACE(key);
    json j = valid;
    j.erase(key);
    const std::string message = user_error([&] { (void)parse_trimodal_config(j, "cfg.json"); });
    EXPECT_NE(message.find("cfg.json"), std::string::npos) << message;
    EXPECT_NE(message.find("'" + key + "'"), std::string::npos) << message;
    EXPECT_NE(message.find("missing"), std::string::npos) << message;
  }
}

struct BadField {
  const char* label;
  const char* field;  // the field the message must name
  json value;
  const char* expected;  // a further part of the message
};

class TriModalConfigRejects : public ::testing::TestWithParam<BadField> {};

TEST_P(TriModalConfigRejects, NamingTheField) {
  const BadField& bad = GetParam();
  json j = trimodal_config_to_json(testing::tiny_trimodal_config());
  j[bad.field] = bad.value;
  const std::string message = user_error([&] { (void)parse_trimodal_config(j, "cfg.json"); });
  EXPECT_NE(message.find("cfg.json"), std::string::npos) << message;
  EXPECT_NE(message.find(std::string("'") + bad.field + "'"), std::string::npos) << message;
  EXPECT_NE(message.find(bad.expected), std::string::npos) << message;
}

// Each integer field below its minimum, above its maximum, and not an integer.
std::vector<BadField> integer_cases() {
  const std::vector<std::pair<const char*, std::int64_t>> limits = {
      {"hidden_size", 16384}, {"num_layers", 256},        {"num_heads", 1024},     {"intermediate_size", 65536},
      {"vocab_size", 1 << 20}, {"max_text_tokens", 65536}, {"image_patch", 256},   {"image_channels", 4096},
      {"max_image_side", 4096}, {"n_mels", 1024},         {"audio_channels", 4096}, {"max_audio_tokens", 65536},
      {"fusion_layers", 64},   {"embed_dim", 16384},      {"num_classes", 1 << 20}, {"num_words", 1 << 20},
      {"num_answers", 1 << 20}};
  std::vector<BadField> out;
  for (const auto& [field, max] : limits) {
    const std::int64_t min = std::string(field) == "n_mels" ? 8 : 1;
    out.push_back({field, field, min - 1, "expected an integer in"});
    out.push_back({field, field, max + 1, "expected an integer in"});
    out.push_back({field, field, 2.5, "expected an integer in"});
    out.push_back({field, field, "16", "expected an integer in"});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Integers, TriModalConfigRejects, ::testing::ValuesIn(integer_cases()),
                         [](const auto& info) { return std::string(info.param.label) + "_" + std::to_string(info.index); });

INSTANTIATE_TEST_SUITE_P(
    Others, TriModalConfigRejects,
    ::testing::Values(BadField{"eps_zero", "norm_eps", 0.0, "> 0"},
                      BadField{"eps_negative", "norm_eps", -1e-5, "> 0"},
                      BadField{"eps_one", "norm_eps", 1.0, "(0, 1)"},
                      BadField{"eps_string", "norm_eps", "1e-5", "a number"},
                      BadField{"fusion_unknown", "fusion", "gated", "cmaf, fixed, concat"},
                      BadField{"fusion_not_string", "fusion", 1, "a string"},
                      BadField{"model_type_llama", "model_type", "llama", "sieve_trimodal"},
                      BadField{"model_type_number", "model_type", 3, "a string"},
                      BadField{"architecture_llama", "architectures", json::array({"LlamaForCausalLM"}),
                               "SieveTriModalModel"},
                      BadField{"architecture_not_list", "architectures", "SieveTriModalModel", "SieveTriModalModel"},
                      BadField{"unknown_key", "hidden_sise", 16, "unknown key"}),
    [](const auto& info) { return std::string(info.param.label); });

// The divisibility checks name both fields of the pair, whichever of the two is off.
TEST(TriModalConfig, RejectsSizesThatDoNotDivide) {
  const auto message_with = [](const char* field, std::int64_t value) {
    json j = trimodal_config_to_json(testing::tiny_trimodal_config());
    j[field] = value;
    return user_error([&] { (void)parse_trimodal_config(j, "c"); });
  };
  for (const auto& [field, value] : {std::pair{"hidden_size", 15}, std::pair{"num_heads", 3}}) {
    const std::string message = message_with(field, value);
    EXPECT_NE(message.find("'hidden_size'"), std::string::npos) << message;
    EXPECT_NE(message.find("not divisible by num_heads"), std::string::npos) << message;
  }
  for (const auto& [field, value] : {std::pair{"max_image_side", 10}, std::pair{"image_patch", 3}}) {
    const std::string message = message_with(field, value);
    EXPECT_NE(message.find("'max_image_side'"), std::string::npos) << message;
    EXPECT_NE(message.find("not a multiple of image_patch"), std::string::npos) << message;
  }
}

TEST(TriModalConfig, NotAnObjectOrMalformed) {
  EXPECT_THROW((void)parse_trimodal_config(json::array({1}), "c"), core::UserError);
  EXPECT_THROW((void)parse_trimodal_config_text("{\"hidden_size\": ", "c"), core::UserError);
  EXPECT_THROW((void)parse_trimodal_config_text(std::string(100000, '['), "c"), core::UserError);
}

// load_trimodal_config refuses a model over the memory limit before building anything.
TEST(TriModalConfig, LoadChecksTheMemoryLimit) {
  TempDir dir;
  nn::TriModalConfig c = testing::tiny_trimodal_config();
  c.hidden_size = 16384;
  c.num_heads = 128;
  c.intermediate_size = 65536;
  c.num_layers = 256;
  save_trimodal_config(dir / "config.json", c);
  struct Limit {
    Limit() { set_max_model_bytes(std::uint64_t{1} << 30); }
    ~Limit() { set_max_model_bytes(0); }
  } limit;
  const std::string message = user_error([&] { (void)load_trimodal_config(dir / "config.json"); });
  EXPECT_NE(message.find("config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("--max-model-bytes"), std::string::npos) << message;
  EXPECT_NO_THROW((void)load_trimodal_config([&] {
    save_trimodal_config(dir / "small.json", testing::tiny_trimodal_config());
    return dir / "small.json";
  }()));
}

}  // namespace
}  // namespace sieve::io
