// Quantized model directories: quantize → save → load gives the same logits bit for bit, and
// an untrusted directory whose config or tensors do not fit is refused with the field or tensor
// named, before the model runs.
#include "sieve/compress/quantized_model_dir.h"

#include <gtest/gtest.h>

#include <fstream>
#include <limits>

#include "quantized_test_models.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/compress/calibration.h"
#include "sieve/compress/quantize_model.h"
#include "sieve/core/error.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/safetensors.h"
#include "temp_dir.h"

namespace sieve::compress {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::random_ids;
using testing::tiny_config;

std::unique_ptr<nn::LlamaForCausalLM> quantized(const nn::LlamaConfig& config, const QuantizationPlan& base) {
  auto model = std::make_unique<nn::LlamaForCausalLM>(config, 5);
  QuantizationPlan plan = base;
  if (plan.layers.empty()) {
    const Precision p = *precision_from_name(base.scheme);
    plan.layers = uniform_plan(*model, p).layers;
  }
  std::map<std::string, float> ranges;
  if (plan.activations == ActivationMode::calibrated)
    ranges = calibrate_input_ranges(*model, int8_layers(plan), {random_ids(2, 24, config.vocab_size, 9)});
  quantize_model(*model, plan, &ranges);
  return model;
}

void expect_round_trip_is_bit_exact(const nn::LlamaConfig& config, const QuantizationPlan& plan) {
  sieve::testing::TempDir dir;
  const auto model = quantized(config, plan);
  save_quantized_model(*model, dir.path());
  EXPECT_TRUE(is_quantized_model_dir(dir.path()));
  const auto loaded = load_quantized_model(dir.path());
  autograd::NoGradGuard no_grad;
  for (const std::int64_t T : {1, 37}) {
    const core::Tensor ids = random_ids(2, T, config.vocab_size, 10 + T);
    EXPECT_EQ(loaded->forward(ids).to_vector(), model->forward(ids).to_vector()) << plan.scheme << " T " << T;
  }
  const QuantizationPlan back = plan_of(*loaded);
  EXPECT_EQ(back.layers, plan_of(*model).layers);
  EXPECT_EQ(back.scheme, plan_of(*model).scheme);
  for (const auto& [name, tensor] : loaded->named_parameters()) EXPECT_FALSE(tensor.requires_grad()) << name;
}

TEST(QuantizedModelDir, RoundTripGivesTheSameLogitsBitForBit) {
  QuantizationPlan int8;
  int8.scheme = "int8";
  expect_round_trip_is_bit_exact(tiny_config(), int8);
  QuantizationPlan int8_static = int8;
  int8_static.activations = ActivationMode::calibrated;
  expect_round_trip_is_bit_exact(tiny_config(), int8_static);
  QuantizationPlan int4;
  int4.scheme = "int4";
  expect_round_trip_is_bit_exact(tiny_config(), int4);  // f16 scales, G 64
  int4.int4_scale_dtype = core::DType::f32;
  int4.group_size = 32;
  expect_round_trip_is_bit_exact(tiny_config(), int4);
  expect_round_trip_is_bit_exact(tiny_config("sparse"), int4);
  const QuantizationPlan mixed = mixed_plan({{"model.layers.0.self_attn.q_proj", Precision::int8},
                                             {"model.layers.0.mlp.gate_proj", Precision::int4},
                                             {"model.layers.1.self_attn.scorer.proj1", Precision::int8},
                                             {"lm_head", Precision::f32}});
  expect_round_trip_is_bit_exact(tiny_config("sparse"), mixed);
}

TEST(QuantizedModelDir, TheFileHoldsTheDocumentedTensors) {
  sieve::testing::TempDir dir;
  QuantizationPlan plan = mixed_plan({{"model.layers.0.self_attn.k_proj", Precision::int8},
                                      {"model.layers.1.mlp.down_proj", Precision::int4}});
  plan.activations = ActivationMode::calibrated;
  save_quantized_model(*quantized(tiny_config(), plan), dir.path());
  const io::SafetensorsFile file(dir / io::kWeightsFile);
  const auto expect = [&](const std::string& name, core::DType dtype, core::Shape shape) {
    const io::SafetensorsEntry* entry = file.header().find(name);
    ASSERT_NE(entry, nullptr) << name;
    EXPECT_EQ(entry->dtype, dtype) << name;
    EXPECT_EQ(entry->shape, shape) << name;
  };
  expect("model.layers.0.self_attn.k_proj.weight", core::DType::i8, {32, 64});
  expect("model.layers.0.self_attn.k_proj.weight_scale", core::DType::f32, {32});
  expect("model.layers.0.self_attn.k_proj.input_scale", core::DType::f32, {1});
  expect("model.layers.1.mlp.down_proj.weight_packed", core::DType::u8, {64, 80});
  expect("model.layers.1.mlp.down_proj.weight_scale", core::DType::f16, {64, 3});  // K 160, G 64
  expect("model.layers.0.self_attn.q_proj.weight", core::DType::f32, {64, 64});
  EXPECT_FALSE(file.contains("model.layers.1.mlp.down_proj.weight"));
  const json config = io::read_config_json(dir / io::kConfigFile);
  const json& q = config.at("quantization");
  EXPECT_EQ(q.at("scheme"), "mixed");
  EXPECT_EQ(q.at("activations"), "static");
  EXPECT_EQ(q.at("group_size"), 64);
  EXPECT_EQ(q.at("scale_dtype"), "f16");
  EXPECT_EQ(q.at("layers").at("model.layers.1.mlp.down_proj"), "int4");
  EXPECT_EQ(q.at("layers").at("lm_head"), "f32");
}

// A saved int8 + int4 model whose files a test then damages.
class BadQuantizedDir : public ::testing::Test {
 protected:
  void SetUp() override {
    QuantizationPlan plan = mixed_plan({{"model.layers.0.self_attn.q_proj", Precision::int8},
                                        {"model.layers.0.mlp.up_proj", Precision::int4},
                                        {"lm_head", Precision::int8}});
    plan.activations = ActivationMode::calibrated;
    save_quantized_model(*quantized(tiny_config(), plan), dir_.path());
    config_ = io::read_config_json(dir_ / io::kConfigFile);
    tensors_ = io::load_safetensors(dir_ / io::kWeightsFile);
  }
  void write() {
    std::ofstream(dir_ / io::kConfigFile) << config_.dump(2);
    io::save_safetensors(dir_ / io::kWeightsFile, {tensors_.begin(), tensors_.end()});
  }
  // Writes the damaged files and expects loading to fail with every one of `fragments`.
  void expect_refused(std::initializer_list<std::string> fragments) {
    write();
    try {
      load_quantized_model(dir_.path());
      ADD_FAILURE() << "expected a UserError";
    } catch (const core::UserError& e) {
      for (const std::string& fragment : fragments)
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what() << "\nmissing: " << fragment;
    }
  }
  json& section() { return config_["quantization"]; }

  sieve::testing::TempDir dir_;
  json config_;
  std::map<std::string, core::Tensor> tensors_;
};

TEST_F(BadQuantizedDir, AnUnknownSchemeIsRefused) {
  section()["scheme"] = "int3";
  expect_refused({"quantization.scheme 'int3' is unknown"});
}

TEST_F(BadQuantizedDir, AGroupSizeINT4DoesNotAllowIsRefused) {
  section()["group_size"] = 48;
  expect_refused({"quantization.group_size 48 is not allowed"});
  section()["group_size"] = "64";
  expect_refused({"quantization.group_size \"64\""});
}

TEST_F(BadQuantizedDir, ALayerTheModelDoesNotHaveIsRefused) {
  section()["layers"]["model.layers.9.mlp.up_proj"] = "int8";
  expect_refused({"'model.layers.9.mlp.up_proj' is not a Linear"});
  section()["layers"].erase("model.layers.9.mlp.up_proj");
  section()["layers"]["model.layers.0.input_layernorm"] = "int8";
  expect_refused({"'model.layers.0.input_layernorm' is not a Linear"});
}

TEST_F(BadQuantizedDir, AnUnknownPrecisionOrFieldIsRefused) {
  section()["layers"]["lm_head"] = "int2";
  expect_refused({"quantization.layers.lm_head", "not a precision"});
  section()["layers"]["lm_head"] = "int8";
  section()["groupsize"] = 64;
  expect_refused({"quantization.groupsize: unknown field"});
  section().erase("groupsize");
  section()["activations"] = "sometimes";
  expect_refused({"quantization.activations 'sometimes'"});
}

TEST_F(BadQuantizedDir, WrongScaleShapesAreRefusedNamingTheTensor) {
  tensors_["model.layers.0.mlp.up_proj.weight_scale"] = core::Tensor::ones({160, 2}, core::DType::f16);
  expect_refused({"'model.layers.0.mlp.up_proj.weight_scale' is F16 [160, 2]", "F16 [160, 1]", "group_size 64"});
}

TEST_F(BadQuantizedDir, AGroupSizeThatDoesNotMatchTheScalesIsRefused) {
  section()["group_size"] = 32;  // K 64: two groups a row, but the file has one
  expect_refused({"model.layers.0.mlp.up_proj.weight_scale", "[160, 2]"});
}

TEST_F(BadQuantizedDir, WrongDtypesAreRefused) {
  tensors_["model.layers.0.self_attn.q_proj.weight"] = core::Tensor::zeros({64, 64});
  expect_refused({"'model.layers.0.self_attn.q_proj.weight' is F32 [64, 64]", "needs I8 [64, 64]"});
}

TEST_F(BadQuantizedDir, ScalesStoredInAnotherDtypeThanTheConfigSaysAreRefused) {
  section()["scale_dtype"] = "f32";
  expect_refused({"weight_scale' is F16", "needs F32"});
}

TEST_F(BadQuantizedDir, MissingAndExtraTensorsAreRefused) {
  tensors_.erase("lm_head.input_scale");
  expect_refused({"no tensor 'lm_head.input_scale'", "static activations"});
  tensors_["lm_head.input_scale"] = core::Tensor::ones({1});
  tensors_["lm_head.weight_zero_point"] = core::Tensor::zeros({512});
  expect_refused({"unexpected tensor 'lm_head.weight_zero_point'"});
}

TEST_F(BadQuantizedDir, ScalesThatAreNotFiniteOrAStaticScaleOfZeroAreRefused) {
  tensors_["lm_head.weight_scale"].data<float>()[3] = std::numeric_limits<float>::quiet_NaN();
  expect_refused({"'lm_head.weight_scale' holds nan at element 3"});
  tensors_["lm_head.weight_scale"].data<float>()[3] = 0.01f;
  tensors_["lm_head.input_scale"].data<float>()[0] = 0.0f;
  expect_refused({"'lm_head.input_scale' holds 0", "> 0"});
}

TEST_F(BadQuantizedDir, AnInt8WeightOfMinus128IsRefused) {
  tensors_["lm_head.weight"].data<std::int8_t>()[10] = -128;
  expect_refused({"'lm_head.weight' holds -128 at element 10"});
}

TEST_F(BadQuantizedDir, ThePlainLoaderSaysTheDirectoryIsQuantized) {
  try {
    io::load_model(dir_.path());
    FAIL() << "expected a UserError";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("describes a quantized model"), std::string::npos) << e.what();
  }
  config_.erase("quantization");
  expect_refused({"no 'quantization' section"});
}

}  // namespace
}  // namespace sieve::compress
