#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "sieve/core/error.h"
#include "sieve/io/model_config.h"
#include "temp_dir.h"

namespace sieve::io {
namespace {

using nlohmann::json;
using testing::TempDir;

const std::filesystem::path kFixtures = SIEVE_FIXTURE_DIR;

json valid_config() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "vocab_size": 96, "hidden_size": 48, "intermediate_size": 80, "num_hidden_layers": 2,
    "num_attention_heads": 6, "num_key_value_heads": 2, "max_position_embeddings": 64,
    "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "tie_word_embeddings": false,
    "bos_token_id": 1, "eos_token_id": 2,
    "torch_dtype": "float32", "transformers_version": "4.40.0", "pretraining_tp": 1
  })");
}

bool same(const nn::LlamaConfig& a, const nn::LlamaConfig& b) {
  return a.vocab_size == b.vocab_size && a.hidden_size == b.hidden_size &&
         a.intermediate_size == b.intermediate_size && a.num_hidden_layers == b.num_hidden_layers &&
         a.num_attention_heads == b.num_attention_heads && a.num_key_value_heads == b.num_key_value_heads &&
         a.max_position_embeddings == b.max_position_embeddings && a.rms_norm_eps == b.rms_norm_eps &&
         a.rope_theta == b.rope_theta && a.tie_word_embeddings == b.tie_word_embeddings &&
         a.bos_token_id == b.bos_token_id && a.eos_token_id == b.eos_token_id &&
         a.attention.type == b.attention.type;
}

TEST(ModelConfig, ParsesValidConfigIgnoringUnknownKeys) {
  const nn::LlamaConfig c = parse_llama_config(valid_config(), "config.json");
  EXPECT_EQ(c.vocab_size, 96);
  EXPECT_EQ(c.hidden_size, 48);
  EXPECT_EQ(c.intermediate_size, 80);
  EXPECT_EQ(c.num_hidden_layers, 2);
  EXPECT_EQ(c.num_attention_heads, 6);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.max_position_embeddings, 64);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_id, 2);
  EXPECT_EQ(c.attention.type, "dense");
  EXPECT_EQ(c.head_dim(), 8);
}

TEST(ModelConfig, OptionalFieldsTakeDefaults) {
  const json minimal = json::parse(R"({"vocab_size": 32, "hidden_size": 16, "intermediate_size": 40,
                                       "num_hidden_layers": 1, "num_attention_heads": 4})");
  const nn::LlamaConfig c = parse_llama_config(minimal, "minimal.json");
  const nn::LlamaConfig defaults;
  EXPECT_EQ(c.num_key_value_heads, 4);  // = num_attention_heads
  EXPECT_EQ(c.max_position_embeddings, defaults.max_position_embeddings);
  EXPECT_EQ(c.rms_norm_eps, defaults.rms_norm_eps);
  EXPECT_EQ(c.rope_theta, defaults.rope_theta);
  EXPECT_EQ(c.tie_word_embeddings, defaults.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, defaults.bos_token_id);
  EXPECT_EQ(c.eos_token_id, defaults.eos_token_id);
  EXPECT_EQ(c.attention.type, "dense");
}

TEST(ModelConfig, AcceptsHfFieldsThatMatchWhatSieveRuns) {
  json config = valid_config();
  config["head_dim"] = 8;
  config["hidden_act"] = "silu";
  config["attention_bias"] = false;
  config["mlp_bias"] = false;
  config["rope_scaling"] = nullptr;
  config["attention"] = {{"type", "dense"}};
  config["rope_theta"] = 500000;  // integers are numbers too
  EXPECT_EQ(parse_llama_config(config, "c").rope_theta, 500000.0);
}

TEST(ModelConfig, JsonRoundTrip) {
  nn::LlamaConfig c;
  c.vocab_size = 1000;
  c.hidden_size = 64;
  c.num_attention_heads = 8;
  c.num_key_value_heads = 4;
  c.rms_norm_eps = 1.0 / 3.0;  // not exactly representable in short decimal
  c.rope_theta = 123456.789;
  c.tie_word_embeddings = true;
  c.bos_token_id = 0;
  c.eos_token_id = 999;
  const json j = llama_config_to_json(c);
  EXPECT_EQ(j.at("architectures"), json::array({"LlamaForCausalLM"}));
  EXPECT_EQ(j.at("model_type"), "llama");
  EXPECT_TRUE(same(parse_llama_config(j, "round trip"), c));
  EXPECT_TRUE(same(parse_llama_config(json::parse(j.dump()), "round trip text"), c));
}

TEST(ModelConfig, ToJsonOverBaseKeepsUnknownKeysAndUpdatesHeadDim) {
  json base = valid_config();
  base["head_dim"] = 8;
  nn::LlamaConfig c = parse_llama_config(base, "base");
  c.num_attention_heads = 3;
  c.num_key_value_heads = 1;
  const json j = llama_config_to_json(c, base);
  EXPECT_EQ(j.at("torch_dtype"), "float32");
  EXPECT_EQ(j.at("head_dim"), 16);
  EXPECT_TRUE(same(parse_llama_config(j, "j"), c));
}

TEST(ModelConfig, SparseAttentionSectionRoundTrips) {
  json config = valid_config();
  config["attention"] = {{"type", "sparse"}, {"layers", {"local", "sparse"}}, {"window", 128}, {"global_cap", 32},
                         {"lsh_keys", 16}, {"lsh_rounds", 2}, {"lsh_buckets", 8}, {"threshold", 0.25},
                         {"keep_ratio", 0.1}, {"scorer_channels", 12}, {"scorer_kernel", 3}, {"dense_below", 512}};
  const nn::LlamaConfig c = parse_llama_config(config, "sparse.json");
  EXPECT_EQ(c.attention.kind(0), "local");
  EXPECT_EQ(c.attention.kind(1), "sparse");
  EXPECT_EQ(c.attention.window, 128);
  EXPECT_EQ(c.attention.lsh_rounds, 2);
  EXPECT_EQ(c.attention.threshold, 0.25);
  const nn::LlamaConfig back = parse_llama_config(llama_config_to_json(c), "round trip");
  EXPECT_EQ(back.attention.layers, c.attention.layers);
  EXPECT_EQ(back.attention.global_cap, 32);
  EXPECT_EQ(back.attention.lsh_keys, 16);
  EXPECT_EQ(back.attention.lsh_buckets, 8);
  EXPECT_EQ(back.attention.keep_ratio, 0.1);
  EXPECT_EQ(back.attention.scorer_channels, 12);
  EXPECT_EQ(back.attention.scorer_kernel, 3);
  EXPECT_EQ(back.attention.dense_below, 512);
}

TEST(ModelConfig, SaveAndLoadFile) {
  TempDir dir;
  nn::LlamaConfig c;
  c.num_hidden_layers = 3;
  save_llama_config(dir / "config.json", c);
  EXPECT_TRUE(same(load_llama_config(dir / "config.json"), c));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"config.json"});
}

TEST(ModelConfig, LoadsFixtureConfigs) {
  const nn::LlamaConfig c = load_llama_config(kFixtures / "golden_llama" / "config.json");
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_TRUE(load_llama_config(kFixtures / "golden_llama_tied" / "config.json").tie_word_embeddings);
}

// ---------------------------------------------------------------------------------------------
// Invalid configs: each message names the file and the field.

struct InvalidCase {
  const char* label;
  std::function<void(json&)> edit;
  std::vector<std::string> expected;  // substrings of the message
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.label; }

class InvalidConfig : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidConfig, IsRejectedNamingTheField) {
  json config = valid_config();
  GetParam().edit(config);
  try {
    parse_llama_config(config, "my/config.json");
    FAIL() << "accepted " << config.dump();
  } catch (const core::UserError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("my/config.json"), std::string::npos) << message;
    for (const auto& part : GetParam().expected) EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

auto set(const char* key, json value) {
  return [key, value](json& j) { j[key] = value; };
}
auto erase(const char* key) {
  return [key](json& j) { j.erase(key); };
}

INSTANTIATE_TEST_SUITE_P(
    ModelConfig, InvalidConfig,
    ::testing::Values(
        InvalidCase{"missing_vocab", erase("vocab_size"), {"'vocab_size'", "missing"}},
        InvalidCase{"missing_hidden", erase("hidden_size"), {"'hidden_size'", "missing"}},
        InvalidCase{"missing_intermediate", erase("intermediate_size"), {"'intermediate_size'", "missing"}},
        InvalidCase{"missing_layers", erase("num_hidden_layers"), {"'num_hidden_layers'", "missing"}},
        InvalidCase{"missing_heads", erase("num_attention_heads"), {"'num_attention_heads'", "missing"}},
        InvalidCase{"float_hidden", set("hidden_size", 48.0), {"'hidden_size'", "integer", "48.0"}},
        InvalidCase{"string_layers", set("num_hidden_layers", "2"), {"'num_hidden_layers'", "integer"}},
        InvalidCase{"bool_vocab", set("vocab_size", true), {"'vocab_size'", "integer"}},
        InvalidCase{"zero_layers", set("num_hidden_layers", 0), {"'num_hidden_layers'", "[1, "}},
        InvalidCase{"negative_intermediate", set("intermediate_size", -80), {"'intermediate_size'"}},
        InvalidCase{"huge_vocab", set("vocab_size", (std::int64_t{1} << 31) + 1), {"'vocab_size'", "2147483648"}},
        InvalidCase{"unsigned_overflow", set("vocab_size", ~std::uint64_t{0}), {"'vocab_size'"}},
        InvalidCase{"zero_kv_heads", set("num_key_value_heads", 0), {"'num_key_value_heads'"}},
        InvalidCase{"zero_positions", set("max_position_embeddings", 0), {"'max_position_embeddings'"}},
        InvalidCase{"hidden_not_divisible", set("hidden_size", 50), {"'hidden_size'", "divisible"}},
        InvalidCase{
            "heads_not_multiple_of_kv", set("num_key_value_heads", 4), {"'num_key_value_heads'", "multiple"}},
        InvalidCase{"odd_head_dim", [](json& j) { j["hidden_size"] = 42; }, {"'hidden_size'", "even"}},
        InvalidCase{"negative_eps", set("rms_norm_eps", -1e-5), {"'rms_norm_eps'", "> 0"}},
        InvalidCase{"string_eps", set("rms_norm_eps", "1e-5"), {"'rms_norm_eps'"}},
        InvalidCase{"zero_theta", set("rope_theta", 0), {"'rope_theta'"}},
        InvalidCase{"tie_not_bool", set("tie_word_embeddings", 1), {"'tie_word_embeddings'", "true or false"}},
        InvalidCase{"bos_out_of_vocab", set("bos_token_id", 96), {"'bos_token_id'", "vocab_size"}},
        InvalidCase{"eos_negative", set("eos_token_id", -1), {"'eos_token_id'"}},
        InvalidCase{"eos_list", set("eos_token_id", json::array({1, 2})), {"'eos_token_id'", "integer"}},
        InvalidCase{"eos_null", set("eos_token_id", nullptr), {"'eos_token_id'"}},
        InvalidCase{"default_bos_tiny_vocab",
                    [](json& j) {
                      j["vocab_size"] = 2;
                      j.erase("bos_token_id");
                      j.erase("eos_token_id");
                    },
                    {"'eos_token_id'", "vocab_size"}},
        InvalidCase{"attention_unknown_type",
                    set("attention", {{"type", "sparse_lsh"}}),
                    {"'attention.type'", "sparse_lsh", "known types: dense"}},
        InvalidCase{"attention_missing_type", set("attention", json::object()), {"'attention.type'", "missing"}},
        InvalidCase{"attention_not_object", set("attention", "dense"), {"'attention'"}},
        InvalidCase{"attention_unknown_key",
                    set("attention", {{"type", "dense"}, {"windw", 4}}),
                    {"'attention'", "windw"}},
        InvalidCase{"sparse_window_too_small",
                    set("attention", {{"type", "sparse"}, {"window", 0}}),
                    {"attention", "'window'", "[64,"}},
        InvalidCase{"sparse_threshold_out_of_range",
                    set("attention", {{"type", "sparse"}, {"threshold", 1.5}}),
                    {"attention", "'threshold'", "[0, 1]"}},
        InvalidCase{"sparse_keep_ratio_negative",
                    set("attention", {{"type", "sparse"}, {"keep_ratio", -0.1}}),
                    {"attention", "'keep_ratio'"}},
        InvalidCase{"sparse_global_cap_zero",
                    set("attention", {{"type", "sparse"}, {"global_cap", 0}}),
                    {"attention", "'global_cap'"}},
        InvalidCase{"sparse_lsh_keys_zero",
                    set("attention", {{"type", "sparse"}, {"lsh_keys", 0}}),
                    {"attention", "'lsh_keys'"}},
        InvalidCase{"sparse_odd_buckets",
                    set("attention", {{"type", "sparse"}, {"lsh_buckets", 7}}),
                    {"attention", "'lsh_buckets'", "even"}},
        InvalidCase{"attention_layers_wrong_count",
                    set("attention", {{"type", "sparse"}, {"layers", {"dense"}}}),
                    {"attention", "'layers'", "2 attention types"}},
        InvalidCase{"attention_layers_unknown_kind",
                    set("attention", {{"type", "sparse"}, {"layers", {"dense", "global"}}}),
                    {"attention", "'layers'", "global"}},
        InvalidCase{"wrong_architecture",
                    set("architectures", json::array({"MistralForCausalLM"})),
                    {"'architectures'", "MistralForCausalLM"}},
        InvalidCase{"architectures_not_list", set("architectures", "LlamaForCausalLM"), {"'architectures'"}},
        InvalidCase{"wrong_model_type", set("model_type", "gpt2"), {"'model_type'", "gpt2"}},
        InvalidCase{"gelu", set("hidden_act", "gelu"), {"'hidden_act'", "gelu"}},
        InvalidCase{"attention_bias", set("attention_bias", true), {"'attention_bias'"}},
        InvalidCase{
            "rope_scaling", set("rope_scaling", {{"type", "linear"}, {"factor", 2.0}}), {"'rope_scaling'"}},
        InvalidCase{"head_dim_mismatch", set("head_dim", 16), {"'head_dim'", "8"}}),
    [](const auto& info) { return std::string(info.param.label); });

TEST(ModelConfig, NotAnObject) { EXPECT_THROW(parse_llama_config(json::array({1}), "c"), core::UserError); }

TEST(ModelConfig, MalformedJsonReportsPosition) {
  try {
    parse_llama_config_text("{\n  \"vocab_size\": 96,\n  \"hidden_size\": ,\n}", "bad.json");
    FAIL() << "accepted";
  } catch (const core::UserError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("bad.json"), std::string::npos) << message;
    EXPECT_NE(message.find("line 3"), std::string::npos) << message;
    EXPECT_EQ(message.find("[json.exception"), std::string::npos) << message;
  }
  EXPECT_THROW(parse_llama_config_text(std::string(100000, '['), "deep.json"), core::UserError);
  EXPECT_THROW(parse_llama_config_text("", "empty.json"), core::UserError);
}

TEST(ModelConfig, LoadErrorsNameTheFile) {
  TempDir dir;
  try {
    load_llama_config(dir / "missing.json");
    FAIL() << "accepted";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos) << e.what();
  }
  std::ofstream(dir / "bad.json") << "{\"vocab_size\": 96";
  try {
    load_llama_config(dir / "bad.json");
    FAIL() << "accepted";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sieve::io
