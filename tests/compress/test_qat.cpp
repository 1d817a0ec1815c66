// Quantization-aware training: the fake-quantized model computes what a model whose weights (and
// for int8 activations) are replaced by their quantized images computes; the estimator's
// gradients; the layers it touches; and bad options.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "sieve/autograd/engine.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/compress/qat.h"
#include "sieve/compress/quantization_plan.h"
#include "sieve/compress/quantize_model.h"
#include "sieve/core/error.h"
#include "sieve/nn/models/presets.h"
#include "sieve/ops/fake_quantize.h"
#include "small_sparse_config.h"
#include "random_token_ids.h"

namespace sieve::compress {
namespace {

using core::Tensor;

using testing::token_ids;

double loss_of(const nn::LlamaForCausalLM& model, const Tensor& ids, const Tensor& targets) {
  autograd::NoGradGuard no_grad;
  return model.loss(ids, targets).item();
}

// Overwrites every quantizable weight with its INT4 image in groups of `group`.
void quantize_weights_in_place(nn::LlamaForCausalLM& model, std::int64_t group) {
  for (auto& [path, linear] : model_linears(model)) {
    if (!quantized_by_default(path)) continue;
    const Tensor image = ops::fake_quantize(linear->weight().detach(), group, 7);
    const auto values = image.to_vector();
    std::copy(values.begin(), values.end(), linear->weight().data<float>());
  }
}

TEST(Qat, Int4ModelComputesWithTheQuantizedWeights) {
  nn::LlamaConfig config = nn::preset_config("tiny");
  nn::LlamaForCausalLM model(config, 1), reference(config, 1);
  model.set_training(false);
  reference.set_training(false);
  const Tensor ids = token_ids(2, 16, config.vocab_size, 2), targets = token_ids(2, 16, config.vocab_size, 3);
  apply_qat(model, {"int4", 32});
  quantize_weights_in_place(reference, 32);
  EXPECT_DOUBLE_EQ(loss_of(model, ids, targets), loss_of(reference, ids, targets));
}

TEST(Qat, Int8ChangesTheLossALittleAndRemovingItRestoresIt) {
  nn::LlamaConfig config = nn::preset_config("tiny");
  nn::LlamaForCausalLM model(config, 4);
  model.set_training(false);
  const Tensor ids = token_ids(2, 16, config.vocab_size, 5), targets = token_ids(2, 16, config.vocab_size, 6);
  const double f32 = loss_of(model, ids, targets);
  apply_qat(model, {"int8", 64});
  const double fake = loss_of(model, ids, targets);
  EXPECT_NE(fake, f32);
  EXPECT_NEAR(fake, f32, 1e-2 * f32);
  remove_qat(model);
  EXPECT_EQ(loss_of(model, ids, targets), f32);
}

// The fake-quantized loss is the converted model's: quantize_model with the same scheme.
void expect_converted_loss_equals_fake_quantized(const std::string& scheme) {
  nn::LlamaConfig config = testing::small_sparse_config();
  nn::LlamaForCausalLM model(config, 15);
  model.set_training(false);
  const Tensor ids = token_ids(2, 96, config.vocab_size, 16), targets = token_ids(2, 96, config.vocab_size, 17);
  apply_qat(model, {scheme, 64});
  const double fake = loss_of(model, ids, targets);
  remove_qat(model);
  QuantizationPlan plan = uniform_plan(model, scheme == "int8" ? Precision::int8 : Precision::int4);
  plan.group_size = 64;
  quantize_model(model, plan);
  EXPECT_NEAR(loss_of(model, ids, targets), fake, 1e-3 * fake) << scheme;
}

TEST(Qat, Int8ConvertedModelHasTheFakeQuantizedLoss) { expect_converted_loss_equals_fake_quantized("int8"); }
TEST(Qat, Int4ConvertedModelHasTheFakeQuantizedLoss) { expect_converted_loss_equals_fake_quantized("int4"); }

TEST(Qat, TouchesTheProjectionsAndTheHeadButNotTheScorer) {
  nn::LlamaConfig config = testing::small_sparse_config();
  nn::LlamaForCausalLM model(config, 7);
  const auto paths = apply_qat(model, {"int8", 64});
  // Per layer q, k, v, o, gate, up, down; plus lm_head (the tiny preset's head is untied).
  EXPECT_EQ(static_cast<std::int64_t>(paths.size()), 7 * config.num_hidden_layers + 1);
  for (const auto& path : paths) EXPECT_EQ(path.find("scorer"), std::string::npos) << path;
  EXPECT_EQ(paths.back(), "lm_head");
}

TEST(Qat, WeightGradientIsTheGradientOfTheQuantizedWeight) {
  // Straight-through: dL/dW of the fake-quantized model equals dL/dŴ of the model that holds Ŵ.
  nn::LlamaConfig config = nn::preset_config("tiny");
  nn::LlamaForCausalLM model(config, 8), reference(config, 8);
  const Tensor ids = token_ids(1, 12, config.vocab_size, 9), targets = token_ids(1, 12, config.vocab_size, 10);
  apply_qat(model, {"int4", 32});
  quantize_weights_in_place(reference, 32);
  autograd::backward(model.loss(ids, targets));
  autograd::backward(reference.loss(ids, targets));
  std::map<std::string, Tensor> reference_grads;
  for (auto& [name, p] : reference.named_parameters()) reference_grads.emplace(name, p.grad());
  for (auto& [name, p] : model.named_parameters()) {
    const auto got = p.grad().to_vector(), want = reference_grads.at(name).to_vector();
    ASSERT_EQ(got.size(), want.size()) << name;
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5f + 1e-4f * std::fabs(want[i])) << name;
  }
}

TEST(Qat, GradientOfAnUnquantizedParameterMatchesFiniteDifferences) {
  // With int4 (weights only) the loss is smooth in every parameter that is not quantized: a norm
  // weight's gradient by central differences in double-checked f32.
  nn::LlamaConfig config = nn::preset_config("tiny");
  nn::LlamaForCausalLM model(config, 11);
  apply_qat(model, {"int4", 32});
  const Tensor ids = token_ids(1, 12, config.vocab_size, 12), targets = token_ids(1, 12, config.vocab_size, 13);
  Tensor norm;
  for (auto& [name, p] : model.named_parameters())
    if (name == "model.layers.1.post_attention_layernorm.weight") norm = p;
  ASSERT_TRUE(norm.defined());
  autograd::backward(model.loss(ids, targets));
  const auto grad = norm.grad().to_vector();
  float* values = norm.data<float>();
  const float h = 1e-2f;
  for (std::int64_t i : {0, 17, 63}) {
    const float saved = values[i];
    values[i] = saved + h;
    const double up = loss_of(model, ids, targets);
    values[i] = saved - h;
    const double down = loss_of(model, ids, targets);
    values[i] = saved;
    EXPECT_NEAR((up - down) / (2 * h), grad[static_cast<std::size_t>(i)], 2e-3 + 2e-2 * std::fabs(grad[i])) << i;
  }
}

TEST(Qat, BadOptionsNameTheField) {
  nn::LlamaForCausalLM model(nn::preset_config("tiny"), 14);
  try {
    apply_qat(model, {"int3", 64});
    FAIL() << "no error";
  } catch (const core::UserError& error) {
    EXPECT_NE(std::string(error.what()).find("int3"), std::string::npos) << error.what();
  }
  try {
    apply_qat(model, {"int4", 48});
    FAIL() << "no error";
  } catch (const core::UserError& error) {
    EXPECT_NE(std::string(error.what()).find("--qat-group-size"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace sieve::compress
