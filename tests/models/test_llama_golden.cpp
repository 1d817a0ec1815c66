// Golden test: a tiny LLaMA-style model with fixed weights must match PyTorch — logits, loss,
// every parameter's gradient, and a 10-step AdamW loss curve. The fixture comes from
// scripts/make_golden_fixture.py (PyTorch, computed in float64 and stored as f32).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "close_tensors.h"
#include "sieve/autograd/engine.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/safetensors.h"
#include "sieve/train/adamw.h"

namespace sieve {
namespace {

namespace fs = std::filesystem;
using core::Tensor;
using testing::expect_close;

class LlamaGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(LlamaGolden, MatchesPyTorch) {
  const fs::path dir = fs::path(SIEVE_FIXTURE_DIR) / GetParam();
  auto model = io::load_model(dir);
  const auto expected = io::load_safetensors(dir / "expected.safetensors");
  const Tensor& ids = expected.at("input_ids");
  const Tensor& targets = expected.at("targets");

  Tensor logits = model->forward(ids);
  expect_close(logits, expected.at("logits"), 1e-4, 1e-5, "logits");

  Tensor loss = model->loss(ids, targets);
  EXPECT_NEAR(loss.item(), expected.at("loss").item(), 1e-5 * std::abs(expected.at("loss").item()));

  autograd::backward(loss);
  for (const auto& [name, parameter] : model->named_parameters()) {
    ASSERT_TRUE(parameter.grad().defined()) << name;
    expect_close(parameter.grad(), expected.at("grad." + name), 1e-3, 1e-6, "grad." + name);
  }

  // 10 AdamW steps on the same batch: lr 1e-2, betas (0.9, 0.95), eps 1e-8, weight decay 0.1
  // on every parameter (a bare torch.optim.AdamW), each loss recorded before its step.
  train::AdamW optimizer(model->named_parameters(),
                         {.beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f,
                          .decay_matrices_only = false});
  const auto curve = expected.at("loss_curve").to_vector();
  ASSERT_EQ(curve.size(), 10u);
  for (std::size_t step = 0; step < curve.size(); ++step) {
    model->zero_grad();
    Tensor step_loss = model->loss(ids, targets);
    EXPECT_NEAR(step_loss.item(), curve[step], 2e-4 * std::abs(curve[step])) << "step " << step;
    autograd::backward(step_loss);
    optimizer.step(1e-2f);
  }
  EXPECT_LT(curve.back(), curve.front());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LlamaGolden, ::testing::Values("golden_llama", "golden_llama_tied"));

}  // namespace
}  // namespace sieve
