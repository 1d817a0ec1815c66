// config.json's "pruning" section (per-layer widths of a structurally pruned model): it round
// trips, is written only for pruned models, implies the per-layer parameter shapes, and bad
// arrays are rejected with the field named.
#include <gtest/gtest.h>

#include "sieve/core/error.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_layout.h"
#include "sieve/nn/models/llama.h"

namespace sieve::io {
namespace {

using nlohmann::json;

json pruned_json() {
  return json::parse(R"({
    "vocab_size": 96, "hidden_size": 48, "intermediate_size": 80, "num_hidden_layers": 3,
    "num_attention_heads": 6, "num_key_value_heads": 2,
    "pruning": {"num_attention_heads": [6, 3, 3], "num_key_value_heads": [2, 1, 1],
                "intermediate_size": [80, 40, 7]}
  })");
}

TEST(PruningConfig, ParsesPerLayerWidths) {
  const nn::LlamaConfig c = parse_llama_config(pruned_json(), "config.json");
  EXPECT_TRUE(c.pruned());
  EXPECT_EQ(c.head_dim(), 8) << "head_dim follows the top-level head count";
  EXPECT_EQ(c.heads(0), 6);
  EXPECT_EQ(c.heads(2), 3);
  EXPECT_EQ(c.kv_heads(1), 1);
  EXPECT_EQ(c.intermediate(2), 7);
}

TEST(PruningConfig, RoundTripsAndOnlyPrunedModelsWriteIt) {
  const nn::LlamaConfig c = parse_llama_config(pruned_json(), "config.json");
  const json written = llama_config_to_json(c);
  ASSERT_TRUE(written.contains("pruning"));
  const nn::LlamaConfig back = parse_llama_config(written, "written");
  EXPECT_EQ(back.pruning.num_attention_heads, c.pruning.num_attention_heads);
  EXPECT_EQ(back.pruning.num_key_value_heads, c.pruning.num_key_value_heads);
  EXPECT_EQ(back.pruning.intermediate_size, c.pruning.intermediate_size);

  nn::LlamaConfig plain = c;
  plain.pruning = {};
  EXPECT_FALSE(llama_config_to_json(plain).contains("pruning"));
  EXPECT_FALSE(llama_config_to_json(plain, written).contains("pruning")) << "a stale section over a base is dropped";

  json partial = pruned_json();
  partial["pruning"].erase("num_key_value_heads");
  partial["pruning"].erase("num_attention_heads");
  const nn::LlamaConfig only_mlp = parse_llama_config(partial, "c");
  EXPECT_EQ(only_mlp.heads(1), 6);
  EXPECT_EQ(llama_config_to_json(only_mlp)["pruning"], json::parse(R"({"intermediate_size": [80, 40, 7]})"));
}

TEST(PruningConfig, LayoutAndBuiltModelFollowTheWidths) {
  const nn::LlamaConfig c = parse_llama_config(pruned_json(), "config.json");
  const auto specs = llama_layer_parameters(c, 2);
  std::map<std::string, core::Shape> shapes;
  for (const auto& spec : specs) shapes.emplace(spec.name, spec.shape);
  EXPECT_EQ(shapes.at("self_attn.q_proj.weight"), (core::Shape{24, 48}));
  EXPECT_EQ(shapes.at("self_attn.k_proj.weight"), (core::Shape{8, 48}));
  EXPECT_EQ(shapes.at("self_attn.o_proj.weight"), (core::Shape{48, 24}));
  EXPECT_EQ(shapes.at("mlp.down_proj.weight"), (core::Shape{48, 7}));
  const nn::LlamaForCausalLM model(c, 1);
  EXPECT_EQ(model.parameter_count(), llama_footprint(c, "c").parameters);
  std::map<std::string, core::Shape> expected;
  for (const auto& spec : llama_parameters(c)) expected.emplace(spec.name, spec.shape);
  for (const auto& [name, tensor] : model.named_parameters()) EXPECT_EQ(tensor.shape(), expected.at(name)) << name;
  EXPECT_EQ(model.named_parameters().size(), expected.size());
}

struct BadPruning {
  std::string name;
  std::string section;  // the "pruning" value
  std::string message;  // expected in the error
};

class InvalidPruning : public ::testing::TestWithParam<BadPruning> {};

TEST_P(InvalidPruning, IsRejectedNamingTheField) {
  json config = pruned_json();
  config["pruning"] = json::parse(GetParam().section);
  try {
    parse_llama_config(config, "config.json");
    FAIL() << "accepted " << GetParam().section;
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find(GetParam().message), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InvalidPruning,
    ::testing::Values(
        BadPruning{"NotAnObject", "[1, 2, 3]", "field 'pruning': expected an object"},
        BadPruning{"UnknownKey", R"({"hidden_size": [1, 2, 3]})", "unknown key 'hidden_size'"},
        BadPruning{"WrongLength", R"({"num_attention_heads": [6, 3]})", "pruning.num_attention_heads': expected an array of 3"},
        BadPruning{"ZeroHeads", R"({"num_attention_heads": [6, 0, 2]})", "pruning.num_attention_heads"},
        BadPruning{"ZeroChannels", R"({"intermediate_size": [80, 0, 2]})", "pruning.intermediate_size"},
        BadPruning{"NotIntegers", R"({"intermediate_size": [80, 1.5, 2]})", "pruning.intermediate_size"},
        BadPruning{"Negative", R"({"num_key_value_heads": [2, -1, 1]})", "pruning.num_key_value_heads"},
        BadPruning{"KvHeadsDoNotDivide", R"({"num_attention_heads": [6, 3, 3], "num_key_value_heads": [2, 2, 1]})",
                   "layer 1 has 3 attention heads, not a multiple of its 2 key/value heads"},
        BadPruning{"TopLevelKvDoesNotDivide", R"({"num_attention_heads": [6, 3, 3]})",
                   "layer 1 has 3 attention heads, not a multiple of its 2 key/value heads"}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace sieve::io
