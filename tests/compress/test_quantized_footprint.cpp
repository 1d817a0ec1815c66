// compress::quantized_footprint predicts, from a config and a plan alone, what the quantized
// model holds, and the quantized loader checks that (not the f32 size) against --max-model-bytes.
#include "sieve/compress/quantized_footprint.h"

#include <gtest/gtest.h>

#include <array>
#include <map>

#include "quantized_test_models.h"
#include "sieve/compress/quantize_model.h"
#include "sieve/compress/quantized_linear.h"
#include "sieve/compress/quantized_model_dir.h"
#include "sieve/core/error.h"
#include "sieve/io/model_layout.h"
#include "sieve/io/model_limits.h"
#include "temp_dir.h"

namespace sieve::compress {
namespace {

using testing::tiny_config;

std::int64_t bytes_of(const core::Tensor& t) { return t.numel() * static_cast<std::int64_t>(core::dtype_size(t.dtype())); }

// What the quantized formats of `model` keep (their q / packed and scales tensors).
std::int64_t quantized_bytes_held(const nn::LlamaForCausalLM& model) {
  std::int64_t bytes = 0;
  for (const auto& [path, linear] : model_linears(model)) {
    if (const auto* int8 = dynamic_cast<const Int8LinearFormat*>(linear->weight_format()))
      bytes += bytes_of(int8->q()) + bytes_of(int8->scales());
    else if (const auto* int4 = dynamic_cast<const Int4LinearFormat*>(linear->weight_format()))
      bytes += bytes_of(int4->packed()) + bytes_of(int4->scales());
  }
  return bytes;
}

struct ModelLimit {
  explicit ModelLimit(std::uint64_t bytes) { io::set_max_model_bytes(bytes); }
  ~ModelLimit() { io::set_max_model_bytes(0); }
};

// A local layer then a sparse one, the head tied to the embedding.
nn::LlamaConfig local_sparse_tied() {
  nn::LlamaConfig config = tiny_config("sparse");
  config.attention.layers = {"local", "sparse"};
  config.tie_word_embeddings = true;
  return config;
}

TEST(QuantizedFootprint, LinearShapesAreTheModelsLinearsAndNothingElse) {
  for (const nn::LlamaConfig& config : {tiny_config(), tiny_config("sparse"), local_sparse_tied()}) {
    const nn::LlamaForCausalLM model(config, 1);
    for (const auto& [path, linear] : model_linears(model))
      EXPECT_EQ(linear_weight_shape(config, path), (core::Shape{linear->out_features(), linear->in_features()})) << path;
  }
  const nn::LlamaConfig config = local_sparse_tied();
  for (const char* path : {"model.layers.01.mlp.up_proj", "model.layers.+1.mlp.up_proj", "model.layers.2.mlp.up_proj",
                           "model.layers.1.self_attn.scorer.conv1", "model.layers.0.self_attn.scorer.proj1",
                           "model.layers.1.input_layernorm", "model.embed_tokens", "model.layers.1", "model.layers.",
                           "lm_head.weight", "lm_head"})
    EXPECT_EQ(linear_weight_shape(config, path), std::nullopt) << path;
  EXPECT_EQ(linear_weight_shape(config, "model.layers.1.self_attn.scorer.proj1"), (core::Shape{16, 64}));
  EXPECT_EQ(linear_weight_shape(tiny_config(), "lm_head"), (core::Shape{512, 64}));
}

// The prediction equals what quantizing holds: every Linear, scorers too, at each precision.
TEST(QuantizedFootprint, PredictsTheParametersAndTensorsTheQuantizedModelHolds) {
  for (const nn::LlamaConfig& config : {tiny_config(), tiny_config("sparse"), local_sparse_tied()}) {
    for (const core::DType scales : {core::DType::f16, core::DType::f32}) {
      nn::LlamaForCausalLM model(config, 1);
      std::map<std::string, Precision> layers;
      std::int64_t i = 0, quantized = 0;
      for (const auto& [path, linear] : model_linears(model)) {
        layers[path] = std::array{Precision::int8, Precision::int4, Precision::f32}[i++ % 3];
        quantized += layers[path] != Precision::f32;
      }
      QuantizationPlan plan = mixed_plan(layers);
      plan.group_size = 32;
      plan.int4_scale_dtype = scales;
      const QuantizedFootprint predicted = quantized_footprint(config, plan, "config.json");
      quantize_model(model, plan);
      EXPECT_EQ(predicted.f32_parameters, model.parameter_count()) << config.attention.kind(1);
      EXPECT_EQ(predicted.quantized_tensor_bytes, quantized_bytes_held(model)) << config.attention.kind(1);
      EXPECT_EQ(predicted.quantized_layers, quantized);
    }
  }
}

TEST(QuantizedFootprint, AnInt4ModelIsCheckedAtItsQuantizedSize) {
  const nn::LlamaConfig config = tiny_config();
  nn::LlamaForCausalLM model(config, 1);
  QuantizationPlan plan = uniform_plan(model, Precision::int4);
  const io::ModelFootprint f32 = io::llama_footprint(config, "config.json");
  const QuantizedFootprint int4 = quantized_footprint(config, plan, "config.json");
  const std::int64_t int4_bytes = int4.bytes;
  // A quantized Linear keeps about 4.5 bits a weight (G 64, scales f32 in memory), not 32; the
  // embedding and the norms stay f32.
  EXPECT_LT(6 * int4.quantized_tensor_bytes, 4 * (f32.parameters - int4.f32_parameters));
  EXPECT_LT(2 * int4_bytes, f32.bytes);
  quantize_model(model, plan);
  sieve::testing::TempDir dir;
  save_quantized_model(model, dir.path());

  {
    ModelLimit limit(static_cast<std::uint64_t>(int4_bytes));  // far below the f32 size
    EXPECT_NO_THROW(load_quantized_model(dir.path()));
  }
  ModelLimit limit(static_cast<std::uint64_t>(int4_bytes - 1));
  try {
    load_quantized_model(dir.path());
    FAIL() << "expected a UserError";
  } catch (const core::UserError& e) {
    const std::string message = e.what();
    for (const std::string& fragment : {std::string("config.json"), io::human_bytes(int4_bytes),
                                       std::string("15 quantized layers"), std::string("limit (set for this run)"),
                                       std::string("--max-model-bytes")})
      EXPECT_NE(message.find(fragment), std::string::npos) << message << "\nmissing: " << fragment;
  }
}

}  // namespace
}  // namespace sieve::compress
