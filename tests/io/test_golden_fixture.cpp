// The PyTorch-written fixtures (tests/fixtures/README.md) open, and their tensors are exactly
// the parameters a LlamaForCausalLM with their config.json has, with the HF names and shapes.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "sieve/io/model_config.h"
#include "sieve/io/safetensors.h"

namespace sieve::io {
namespace {

const std::filesystem::path kFixtures = SIEVE_FIXTURE_DIR;

// HF parameter names and shapes (C hidden, I intermediate, V vocab, D head dim).
std::map<std::string, core::Shape> expected_parameters(const nn::LlamaConfig& c) {
  const std::int64_t C = c.hidden_size, I = c.intermediate_size, V = c.vocab_size, D = c.head_dim();
  std::map<std::string, core::Shape> out;
  out["model.embed_tokens.weight"] = {V, C};
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    out[p + "input_layernorm.weight"] = {C};
    out[p + "post_attention_layernorm.weight"] = {C};
    out[p + "self_attn.q_proj.weight"] = {c.num_attention_heads * D, C};
    out[p + "self_attn.k_proj.weight"] = {c.num_key_value_heads * D, C};
    out[p + "self_attn.v_proj.weight"] = {c.num_key_value_heads * D, C};
    out[p + "self_attn.o_proj.weight"] = {C, c.num_attention_heads * D};
    out[p + "mlp.gate_proj.weight"] = {I, C};
    out[p + "mlp.up_proj.weight"] = {I, C};
    out[p + "mlp.down_proj.weight"] = {C, I};
  }
  out["model.norm.weight"] = {C};
  if (!c.tie_word_embeddings) out["lm_head.weight"] = {V, C};
  return out;
}

void check_fixture(const std::string& name) {
  const auto dir = kFixtures / name;
  const nn::LlamaConfig config = load_llama_config(dir / "config.json");
  const SafetensorsFile weights(dir / "model.safetensors");
  std::map<std::string, core::Shape> found;
  for (const auto& entry : weights.header().entries) {
    EXPECT_EQ(entry.dtype, core::DType::f32) << entry.name;
    found[entry.name] = entry.shape;
  }
  EXPECT_EQ(found, expected_parameters(config));
  // Views read real values: every norm weight is near 1 (1 + 0.1·N(0,1)), not garbage.
  const auto norm = weights.tensor("model.norm.weight").to_vector();
  for (float v : norm) EXPECT_TRUE(v > 0.3f && v < 1.7f) << v;

  const SafetensorsFile expected(dir / "expected.safetensors");
  EXPECT_EQ(expected.tensor("loss_curve").shape(), core::Shape{10});
  EXPECT_EQ(expected.tensor("input_ids").dtype(), core::DType::i64);
  EXPECT_EQ(expected.tensor("logits").shape(), (core::Shape{2, 12, config.vocab_size}));
}

TEST(GoldenFixture, UntiedModelMatchesConfig) { check_fixture("golden_llama"); }
TEST(GoldenFixture, TiedModelMatchesConfig) { check_fixture("golden_llama_tied"); }

}  // namespace
}  // namespace sieve::io
