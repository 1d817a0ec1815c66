// io::llama_parameters / llama_footprint predict, from a config alone, the parameters the model
// registers — the loader checks weights against them before building anything, so they must
// stay in step with the model code (these tests fail when a layer gains or renames a tensor).
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "sieve/core/error.h"
#include "sieve/io/model_layout.h"
#include "sieve/nn/models/llama.h"

namespace sieve::io {
namespace {

nn::LlamaConfig small_config() {
  nn::LlamaConfig c;
  c.vocab_size = 40;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 512;
  return c;
}

using NamedShapes = std::vector<std::pair<std::string, core::Shape>>;

NamedShapes sorted(NamedShapes shapes) {
  std::sort(shapes.begin(), shapes.end());
  return shapes;
}

NamedShapes of_model(const nn::LlamaConfig& config) {
  NamedShapes out;
  for (const auto& [name, tensor] : nn::LlamaForCausalLM(config, 0).named_parameters())
    out.emplace_back(name, tensor.shape());
  return sorted(out);
}

NamedShapes of_layout(const nn::LlamaConfig& config) {
  NamedShapes out;
  for (const auto& spec : llama_parameters(config)) out.emplace_back(spec.name, spec.shape);
  return sorted(out);
}

std::vector<nn::LlamaConfig> every_kind_of_model() {
  std::vector<nn::LlamaConfig> configs;
  configs.push_back(small_config());
  nn::LlamaConfig tied = small_config();
  tied.tie_word_embeddings = true;
  configs.push_back(tied);
  for (const char* type : {"local", "sparse"}) {
    nn::LlamaConfig c = small_config();
    c.attention.type = type;
    configs.push_back(c);
  }
  nn::LlamaConfig mixed = small_config();
  mixed.attention.layers = {"dense", "sparse", "local"};
  mixed.attention.scorer_channels = 6;
  mixed.attention.scorer_kernel = 3;
  mixed.attention.lsh_rounds = 2;
  configs.push_back(mixed);
  return configs;
}

TEST(ModelLayout, ParametersMatchTheBuiltModel) {
  for (const nn::LlamaConfig& config : every_kind_of_model()) {
    SCOPED_TRACE(config.attention.type + (config.attention.layers.empty() ? "" : " (mixed layers)") +
                 (config.tie_word_embeddings ? " tied" : ""));
    EXPECT_EQ(of_layout(config), of_model(config));
  }
}

TEST(ModelLayout, FootprintCountsTheBuiltModel) {
  for (const nn::LlamaConfig& config : every_kind_of_model()) {
    const nn::LlamaForCausalLM model(config, 0);
    const ModelFootprint f = llama_footprint(config, "config.json");
    EXPECT_EQ(f.parameters, model.parameter_count());
    EXPECT_EQ(f.parameter_tensors, static_cast<std::int64_t>(model.named_parameters().size()));
    EXPECT_EQ(f.bytes, 4 * (f.parameters + f.buffer_elements) + kBookkeepingBytesPerTensor * f.parameter_tensors);
  }
  // The sparse layers' LSH rotations [R, Hkv, D, NBk / 2] are built with the model too.
  nn::LlamaConfig sparse = small_config();
  sparse.attention.type = "sparse";
  sparse.attention.lsh_rounds = 2;
  sparse.attention.lsh_buckets = 16;
  EXPECT_EQ(llama_footprint(sparse, "config.json").buffer_elements, 3 * 2 * 2 * 4 * 8);
  EXPECT_EQ(llama_footprint(small_config(), "config.json").buffer_elements, 0);
}

TEST(ModelLayout, FootprintNamesTheLargestTensor) {
  nn::LlamaConfig c = small_config();
  c.vocab_size = 1 << 20;
  const ModelFootprint f = llama_footprint(c, "config.json");
  EXPECT_EQ(f.largest.name, "model.embed_tokens.weight");
  EXPECT_EQ(f.largest.fields, "vocab_size x hidden_size");
  c.vocab_size = 8;
  c.intermediate_size = 1 << 20;
  EXPECT_EQ(llama_footprint(c, "config.json").largest.name, "model.layers.<dense layer>.mlp.gate_proj.weight");
}

// Sizes within the config's per-field range whose product overflows 64 bits: an error naming the
// file and the fields, never a wrapped count.
TEST(ModelLayout, OverflowingSizesAreUserErrors) {
  nn::LlamaConfig c = small_config();
  c.hidden_size = std::int64_t{1} << 31;
  c.intermediate_size = std::int64_t{1} << 31;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 2;
  c.num_hidden_layers = std::int64_t{1} << 31;
  try {
    llama_footprint(c, "dir/config.json");
    FAIL() << "an overflowing footprint was accepted";
  } catch (const core::UserError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("dir/config.json"), std::string::npos) << message;
    EXPECT_NE(message.find("too large to count"), std::string::npos) << message;
    EXPECT_NE(message.find("num_hidden_layers 2147483648"), std::string::npos) << message;
  }
  // The elements count, their bytes do not: the size saturates, to be refused by any limit.
  c = small_config();
  c.vocab_size = std::int64_t{1} << 30;
  c.hidden_size = std::int64_t{1} << 30;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 2;
  const ModelFootprint f = llama_footprint(c, "config.json");
  EXPECT_GT(f.parameters, std::int64_t{1} << 61);
  EXPECT_EQ(f.bytes, std::numeric_limits<std::int64_t>::max());
}

}  // namespace
}  // namespace sieve::io
