// Quantizing a whole model: which Linears the schemes take, logits close to the f32 model's,
// calibration, KV-cache decoding equal to the full forward with dense and sparse attention, and
// plans that do not fit the model refused with the field named.
// Letters: B batch, T tokens, V vocab.
#include "sieve/compress/quantize_model.h"

#include <gtest/gtest.h>

#include <limits>

#include "quantized_test_models.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/compress/calibration.h"
#include "sieve/compress/quantized_linear.h"
#include "sieve/core/error.h"

namespace sieve::compress {
namespace {

using testing::max_abs_difference;
using testing::random_ids;
using testing::relative_error;
using testing::tiny_config;

std::string user_error_of(const std::function<void()>& run) {
  try {
    run();
  } catch (const core::UserError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a UserError";
  return {};
}

TEST(QuantizeModel, UniformSchemesTakeEveryProjectionAndTheHeadButNotTheScorers) {
  nn::LlamaForCausalLM model(tiny_config("sparse"), 1);
  const QuantizationPlan plan = uniform_plan(model, Precision::int8);
  EXPECT_EQ(plan.scheme, "int8");
  EXPECT_EQ(plan.layers.size(), 2u * 7u + 1u);  // q k v o gate up down per layer, lm_head
  EXPECT_TRUE(plan.layers.contains("lm_head"));
  EXPECT_TRUE(plan.layers.contains("model.layers.1.mlp.down_proj"));
  for (const auto& [path, precision] : plan.layers) EXPECT_EQ(path.find("scorer"), std::string::npos) << path;
  nn::LlamaConfig tied = tiny_config();
  tied.tie_word_embeddings = true;
  nn::LlamaForCausalLM tied_model(tied, 1);
  EXPECT_FALSE(uniform_plan(tied_model, Precision::int4).layers.contains("lm_head"));  // the head is the embedding
}

TEST(QuantizeModel, LogitsStayCloseToTheF32Model) {
  const nn::LlamaConfig config = tiny_config();
  nn::LlamaForCausalLM reference(config, 2);
  const core::Tensor ids = random_ids(2, 40, config.vocab_size, 3);
  autograd::NoGradGuard no_grad;
  const core::Tensor expected = reference.forward(ids);
  struct Scheme {
    Precision precision;
    ActivationMode activations;
    double bound;  // relative error of the logits
  };
  for (const Scheme s : {Scheme{Precision::int8, ActivationMode::dynamic, 0.02},
                         Scheme{Precision::int8, ActivationMode::calibrated, 0.03},
                         Scheme{Precision::int4, ActivationMode::dynamic, 0.16}}) {
    nn::LlamaForCausalLM model(config, 2);
    QuantizationPlan plan = uniform_plan(model, s.precision);
    plan.activations = s.activations;
    std::map<std::string, float> ranges;
    if (s.activations == ActivationMode::calibrated)
      ranges = calibrate_input_ranges(model, int8_layers(plan), {random_ids(2, 40, config.vocab_size, 4)});
    quantize_model(model, plan, &ranges);
    const double error = relative_error(model.forward(ids), expected);
    EXPECT_LT(error, s.bound) << precision_name(s.precision) << " " << activation_mode_name(s.activations);
    EXPECT_GT(error, 0.0);  // it did run quantized
  }
}

TEST(QuantizeModel, ReleasesTheF32WeightsAndFreezesTheRest) {
  nn::LlamaForCausalLM model(tiny_config(), 2);
  const std::int64_t before = model.parameter_count();
  quantize_model(model, uniform_plan(model, Precision::int4));
  for (const auto& [name, tensor] : model.named_parameters()) {
    EXPECT_EQ(name.find("_proj.weight"), std::string::npos) << name;
    EXPECT_NE(name, "lm_head.weight");
    EXPECT_FALSE(tensor.requires_grad()) << name;
  }
  EXPECT_LT(model.parameter_count(), before / 2);
  // A forward under grad mode works: nothing left needs a gradient.
  EXPECT_EQ(model.forward(random_ids(1, 8, 512, 5)).size(2), 512);
  const QuantizationPlan plan = plan_of(model);
  EXPECT_EQ(plan.scheme, "int4");
  EXPECT_EQ(plan.group_size, kDefaultInt4GroupSize);
  EXPECT_EQ(plan.layers.at("lm_head"), Precision::int4);
}

TEST(QuantizeModel, CalibrationSeesEachLayersInputAndLeavesTheModelAsItWas) {
  const nn::LlamaConfig config = tiny_config();
  nn::LlamaForCausalLM model(config, 2);
  const core::Tensor ids = random_ids(1, 30, config.vocab_size, 6);
  autograd::NoGradGuard no_grad;
  const core::Tensor before = model.forward(ids);
  const auto layers = int8_layers(uniform_plan(model, Precision::int8));
  const auto ranges = calibrate_input_ranges(model, layers, {ids});
  ASSERT_EQ(ranges.size(), layers.size());
  for (const auto& [path, range] : ranges) EXPECT_TRUE(std::isfinite(range) && range > 0.0f) << path;
  // q, k and v read the same normed input.
  EXPECT_EQ(ranges.at("model.layers.0.self_attn.q_proj"), ranges.at("model.layers.0.self_attn.v_proj"));
  for (const auto& [path, linear] : model_linears(model)) EXPECT_EQ(linear->weight_format(), nullptr) << path;
  EXPECT_EQ(model.forward(ids).to_vector(), before.to_vector());
}

// Decoding token by token through the KV cache gives the full forward's logits.
void expect_cached_decoding_matches(const nn::LlamaConfig& config, Precision precision, std::int64_t T,
                                    std::int64_t prompt) {
  nn::LlamaForCausalLM model(config, 11);
  quantize_model(model, uniform_plan(model, precision));
  autograd::NoGradGuard no_grad;
  const core::Tensor all = random_ids(1, T, config.vocab_size, 12);
  const core::Tensor full = model.forward(all);
  nn::KvCache cache = model.make_cache(1, T);
  const core::Tensor first = model.forward(all.slice(1, 0, prompt).contiguous(), &cache);
  EXPECT_LT(max_abs_difference(first, full.slice(1, 0, prompt)), 1e-4);
  for (std::int64_t t = prompt; t < T; ++t) {
    const core::Tensor step = model.forward(all.slice(1, t, t + 1).contiguous(), &cache);
    ASSERT_LT(max_abs_difference(step, full.slice(1, t, t + 1)), 1e-4)
        << config.attention.type << " " << precision_name(precision) << " position " << t;
  }
}

TEST(QuantizeModel, CachedDecodingEqualsTheFullForwardWithDenseAttention) {
  for (Precision p : {Precision::int8, Precision::int4}) expect_cached_decoding_matches(tiny_config(), p, 48, 20);
}

TEST(QuantizeModel, CachedDecodingEqualsTheFullForwardWithSparseAttention) {
  nn::LlamaConfig config = tiny_config("sparse");
  config.attention.layers = {"sparse", "local"};
  config.attention.threshold = 0.5;
  config.attention.global_cap = 24;
  // Past the window (64), so the sparse kernel drops keys.
  for (Precision p : {Precision::int8, Precision::int4}) expect_cached_decoding_matches(config, p, 200, 90);
}

TEST(QuantizeModel, PlansThatDoNotFitTheModelNameTheField) {
  nn::LlamaForCausalLM model(tiny_config(), 2);
  QuantizationPlan plan = uniform_plan(model, Precision::int8);
  plan.layers["model.layers.7.mlp.up_proj"] = Precision::int8;
  EXPECT_NE(user_error_of([&] { quantize_model(model, plan); }).find("'model.layers.7.mlp.up_proj' is not a Linear"),
            std::string::npos);
  plan = uniform_plan(model, Precision::int4);
  plan.group_size = 48;
  EXPECT_NE(user_error_of([&] { quantize_model(model, plan); }).find("group_size 48"), std::string::npos);
  plan = uniform_plan(model, Precision::int4);
  plan.scheme = "int3";
  EXPECT_NE(user_error_of([&] { quantize_model(model, plan); }).find("unknown quantization scheme 'int3'"),
            std::string::npos);
  plan = uniform_plan(model, Precision::int8);
  plan.layers["lm_head"] = Precision::int4;
  EXPECT_NE(user_error_of([&] { quantize_model(model, plan); }).find("scheme 'mixed'"), std::string::npos);
  plan = uniform_plan(model, Precision::int8);
  plan.activations = ActivationMode::calibrated;
  EXPECT_NE(user_error_of([&] { quantize_model(model, plan); }).find("calibration"), std::string::npos);
  for (const auto& [path, linear] : model_linears(model)) EXPECT_EQ(linear->weight_format(), nullptr) << path;
}

// Weights a format cannot hold fail the whole plan, naming the layer, before any layer changes:
// the layer that fails comes late in the model, after layers that would already be quantized.
TEST(QuantizeModel, WeightsThatCannotBeQuantizedLeaveTheModelAsItWas) {
  nn::LlamaForCausalLM model(tiny_config(), 2);
  const auto linears = model_linears(model);
  nn::Linear* late = nullptr;
  for (const auto& [path, linear] : linears)
    if (path == "model.layers.1.mlp.down_proj") late = linear;
  ASSERT_NE(late, nullptr);
  Tensor(late->weight()).data<float>()[70] = 1e6f;  // an INT4 scale of 1e6 / 7, beyond f16's 65504
  const core::Tensor ids = random_ids(1, 9, tiny_config().vocab_size, 3);
  autograd::NoGradGuard no_grad;
  const std::vector<float> before = model.forward(ids).to_vector();

  QuantizationPlan int4 = uniform_plan(model, Precision::int4);  // f16 scales
  const std::string message = user_error_of([&] { quantize_model(model, int4); });
  for (const char* fragment : {"'model.layers.1.mlp.down_proj'", "int4", "row 0, group 1", "65504", "--scale-dtype f32"})
    EXPECT_NE(message.find(fragment), std::string::npos) << message << "\nmissing: " << fragment;
  for (const auto& [path, linear] : linears) {
    EXPECT_EQ(linear->weight_format(), nullptr) << path;
    EXPECT_TRUE(linear->weight().defined()) << path;
  }
  EXPECT_EQ(model.forward(ids).to_vector(), before);

  Tensor(late->weight()).data<float>()[70] = std::numeric_limits<float>::quiet_NaN();
  const std::string nan = user_error_of([&] { quantize_model(model, uniform_plan(model, Precision::int8)); });
  EXPECT_NE(nan.find("cannot quantize 'model.layers.1.mlp.down_proj' to int8: the weight holds nan at element 70"),
            std::string::npos)
      << nan;
  for (const auto& [path, linear] : linears) EXPECT_EQ(linear->weight_format(), nullptr) << path;

  Tensor(late->weight()).data<float>()[70] = 1e6f;
  int4.int4_scale_dtype = core::DType::f32;  // what the message advises
  quantize_model(model, int4);
  EXPECT_NE(late->weight_format(), nullptr);
}

TEST(QuantizeModel, AMixedPlanKeepsItsChoicesAndAQuantizedModelCannotBeQuantizedAgain) {
  nn::LlamaForCausalLM model(tiny_config(), 2);
  const QuantizationPlan plan = mixed_plan({{"model.layers.0.self_attn.q_proj", Precision::int8},
                                            {"model.layers.1.mlp.down_proj", Precision::int4},
                                            {"lm_head", Precision::f32}});
  quantize_model(model, plan);
  const QuantizationPlan back = plan_of(model);
  EXPECT_EQ(back.scheme, "mixed");
  EXPECT_EQ(back.layers.at("model.layers.0.self_attn.q_proj"), Precision::int8);
  EXPECT_EQ(back.layers.at("model.layers.1.mlp.down_proj"), Precision::int4);
  EXPECT_EQ(back.layers.at("lm_head"), Precision::f32);
  EXPECT_EQ(back.layers.at("model.layers.0.mlp.up_proj"), Precision::f32);
  EXPECT_NE(user_error_of([&] { quantize_model(model, plan); }).find("already quantized"), std::string::npos);
}

}  // namespace
}  // namespace sieve::compress
