// Activation checkpointing (sieve/nn/activation_checkpoint.h): a checkpointed block gives the
// same output and the same input and parameter gradients as the plain block, bit for bit —
// with frozen parameters, under a precision policy that is gone by backward time, with random
// draws, nested — and the LLaMA model with checkpointing on trains to the same gradients while
// its peak of allocated bytes is lower.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "sieve/autograd/engine.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/autograd/node.h"
#include "sieve/core/allocator.h"
#include "sieve/core/error.h"
#include "sieve/nn/activation_checkpoint.h"
#include "sieve/nn/adapters/lora.h"
#include "sieve/nn/models/llama.h"
#include "sieve/nn/models/presets.h"
#include "sieve/ops/activation.h"
#include "sieve/ops/arithmetic.h"
#include "sieve/ops/dropout.h"
#include "sieve/ops/linear.h"
#include "sieve/ops/precision.h"
#include "random_token_ids.h"

namespace sieve::nn {
namespace {

Tensor random_tensor(const Shape& shape, std::uint64_t seed, bool requires_grad) {
  core::Rng rng(seed);
  Tensor t = normal_tensor(shape, 0.5, rng);
  t.set_requires_grad(requires_grad);
  return t;
}

using testing::token_ids;

// A two-layer MLP block with a residual: x + W2·silu(W1·x + b1). x [N, C], W1 [F, C], W2 [C, F].
struct MlpBlock {
  Tensor w1, b1, w2;
  MlpBlock(std::int64_t channels, std::int64_t hidden, std::uint64_t seed)
      : w1(random_tensor({hidden, channels}, seed, true)),
        b1(random_tensor({hidden}, seed + 1, true)),
        w2(random_tensor({channels, hidden}, seed + 2, true)) {}
  Tensor operator()(const Tensor& x) const { return ops::add(x, ops::linear(ops::silu(ops::linear(x, w1, b1)), w2)); }
  void zero_grad() {
    w1.zero_grad();
    b1.zero_grad();
    w2.zero_grad();
  }
};

std::vector<float> grad_of(const Tensor& t) { return t.grad().defined() ? t.grad().to_vector() : std::vector<float>{}; }

TEST(ActivationCheckpoint, MatchesThePlainBlockBitForBit) {
  MlpBlock block(16, 40, 1);
  Tensor x = random_tensor({6, 16}, 7, true);
  const Tensor upstream = random_tensor({6, 16}, 8, false);  // a non-trivial incoming gradient

  const Tensor plain = block(x);
  autograd::backward(plain, upstream);
  const std::vector<float> dx = grad_of(x), dw1 = grad_of(block.w1), db1 = grad_of(block.b1), dw2 = grad_of(block.w2);
  x.zero_grad();
  block.zero_grad();

  const Tensor checkpointed = checkpoint(std::cref(block), x);
  EXPECT_EQ(checkpointed.to_vector(), plain.to_vector());
  ASSERT_TRUE(checkpointed.requires_grad());
  EXPECT_EQ(checkpointed.grad_fn()->name(), "checkpoint");
  // The checkpoint node is the only one recorded: its single edge leads straight to x.
  ASSERT_EQ(checkpointed.grad_fn()->edges().size(), 1u);
  EXPECT_EQ(checkpointed.grad_fn()->edges()[0].leaf, x.impl_ptr());
  autograd::backward(checkpointed, upstream);
  EXPECT_EQ(grad_of(x), dx);
  EXPECT_EQ(grad_of(block.w1), dw1);
  EXPECT_EQ(grad_of(block.b1), db1);
  EXPECT_EQ(grad_of(block.w2), dw2);
}

TEST(ActivationCheckpoint, BlockInsideALargerGraphAndFrozenParametersStayGradientFree) {
  // y = checkpoint(block)(x·2) summed; w2 frozen, x itself needs no grad, so only w1 and b1 train
  // and the node must record although its input needs no grad.
  MlpBlock block(8, 24, 3);
  block.w2.set_requires_grad(false);
  Tensor x = random_tensor({5, 8}, 4, false);

  autograd::backward(ops::sum(block(ops::scale(x, 2.0f))));
  const std::vector<float> dw1 = grad_of(block.w1), db1 = grad_of(block.b1);
  block.zero_grad();

  const Tensor y = ops::sum(checkpoint(std::cref(block), ops::scale(x, 2.0f)));
  ASSERT_TRUE(y.requires_grad());
  autograd::backward(y);
  EXPECT_EQ(grad_of(block.w1), dw1);
  EXPECT_EQ(grad_of(block.b1), db1);
  EXPECT_FALSE(block.w2.grad().defined());
  EXPECT_FALSE(x.grad().defined());
}

TEST(ActivationCheckpoint, WithGradModeOffItIsThePlainBlock) {
  MlpBlock block(8, 12, 5);
  Tensor x = random_tensor({3, 8}, 6, true);
  autograd::NoGradGuard no_grad;
  const Tensor y = checkpoint(std::cref(block), x);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
  EXPECT_EQ(y.to_vector(), block(x).to_vector());
}

TEST(ActivationCheckpoint, RecomputesUnderTheForwardsPrecisionPolicy) {
  // Forward under bf16, backward after the scope has closed: the recomputation must run in bf16
  // again, or its saved operands (and so the gradients) differ from the plain bf16 pass.
  MlpBlock block(32, 64, 9);
  Tensor x = random_tensor({8, 32}, 10, true);
  const ops::PrecisionPolicy bf16 = ops::default_policy(ops::ComputePrecision::bf16);

  Tensor plain, checkpointed;
  {
    ops::PrecisionScope scope(bf16);
    plain = ops::sum(block(x));
  }
  autograd::backward(plain);
  const std::vector<float> dx = grad_of(x), dw1 = grad_of(block.w1);
  x.zero_grad();
  block.zero_grad();
  {
    ops::PrecisionScope scope(bf16);
    checkpointed = ops::sum(checkpoint(std::cref(block), x));
  }
  EXPECT_EQ(checkpointed.item(), plain.item());
  autograd::backward(checkpointed);
  EXPECT_EQ(grad_of(x), dx);
  EXPECT_EQ(grad_of(block.w1), dw1);

  // The test can tell: an f32 pass gives other gradients.
  x.zero_grad();
  block.zero_grad();
  autograd::backward(ops::sum(block(x)));
  EXPECT_NE(grad_of(block.w1), dw1);
}

// A block with dropout whose key comes from a per-block call counter, as LoRA dropout keeps one.
struct DropoutBlock {
  MlpBlock mlp{12, 20, 11};
  std::uint64_t* calls;
  Tensor operator()(const Tensor& x) const {
    std::uint64_t key = 1000 + next_random_counter(*calls);
    return mlp(ops::dropout(x, 0.5f, core::splitmix64(key)));
  }
};

TEST(ActivationCheckpoint, RandomDrawsReplayInTheRecomputation) {
  std::uint64_t calls = 0;
  DropoutBlock block{.calls = &calls};
  Tensor x = random_tensor({4, 12}, 12, true);

  autograd::backward(ops::sum(block(x)));
  const std::vector<float> dx = grad_of(x), dw1 = grad_of(block.mlp.w1);
  EXPECT_EQ(calls, 1u);
  x.zero_grad();
  block.mlp.zero_grad();

  calls = 0;  // the same mask as the plain pass
  const Tensor y = ops::sum(checkpoint(std::cref(block), x));
  EXPECT_EQ(calls, 1u);
  autograd::backward(y);
  EXPECT_EQ(calls, 1u);  // the recomputation replayed the draw instead of advancing the counter
  EXPECT_EQ(grad_of(x), dx);
  EXPECT_EQ(grad_of(block.mlp.w1), dw1);

  // Nested: a checkpointed block inside a checkpointed block replays the same draws.
  x.zero_grad();
  block.mlp.zero_grad();
  calls = 0;
  const auto outer = [&block](const Tensor& h) { return ops::scale(checkpoint(std::cref(block), h), 3.0f); };
  autograd::backward(ops::sum(checkpoint(outer, ops::scale(x, 1.0f))));
  EXPECT_EQ(calls, 1u);
  x.zero_grad();
  block.mlp.zero_grad();
  calls = 0;
  autograd::backward(ops::sum(ops::scale(block(ops::scale(x, 1.0f)), 3.0f)));
  const std::vector<float> nested_plain = grad_of(block.mlp.w1);
  block.mlp.zero_grad();
  calls = 0;
  autograd::backward(ops::sum(checkpoint(outer, ops::scale(x, 1.0f))));
  EXPECT_EQ(grad_of(block.mlp.w1), nested_plain);
}

TEST(ActivationCheckpoint, ARecomputationThatDrawsDifferentlyIsAnError) {
  std::uint64_t calls = 0;
  MlpBlock mlp(4, 8, 13);
  // Draws only with grad on: the forward (grad off) logs nothing, the recomputation draws once.
  const auto block = [&](const Tensor& x) {
    if (autograd::grad_enabled()) (void)next_random_counter(calls);
    return mlp(x);
  };
  const Tensor y = ops::sum(checkpoint(block, random_tensor({2, 4}, 14, true)));
  EXPECT_THROW(autograd::backward(y), core::Error);
}

TEST(ActivationCheckpoint, RetainedGraphRecomputesAgain) {
  MlpBlock block(8, 16, 15);
  Tensor x = random_tensor({3, 8}, 16, true);
  const Tensor y = ops::sum(checkpoint(std::cref(block), x));
  autograd::backward(y, {}, {.retain_graph = true});
  const std::vector<float> once = grad_of(block.w1);
  autograd::backward(y);
  const std::vector<float> twice = grad_of(block.w1);
  ASSERT_EQ(once.size(), twice.size());
  for (std::size_t i = 0; i < once.size(); ++i) EXPECT_EQ(twice[i], once[i] + once[i]);
}

// ---- the LLaMA model ------------------------------------------------------------------------

struct LossAndGrads {
  double loss = 0.0;
  std::map<std::string, std::vector<float>> grads;  // parameters that received one
};

LossAndGrads loss_and_grads(LlamaForCausalLM& model, const Tensor& ids, const Tensor& targets) {
  model.zero_grad();
  const Tensor loss = model.loss(ids, targets);
  autograd::backward(loss);
  LossAndGrads out;
  out.loss = loss.item();
  for (auto& [name, tensor] : model.named_parameters())
    if (tensor.grad().defined()) out.grads[name] = tensor.grad().to_vector();
  return out;
}

void expect_same(const LossAndGrads& a, const LossAndGrads& b) {
  EXPECT_EQ(a.loss, b.loss);
  ASSERT_EQ(a.grads.size(), b.grads.size());
  for (const auto& [name, grad] : a.grads) {
    ASSERT_TRUE(b.grads.contains(name)) << name;
    EXPECT_EQ(grad, b.grads.at(name)) << name;
  }
}

TEST(ActivationCheckpoint, LlamaGradientsAreUnchanged) {
  LlamaForCausalLM model(preset_config("tiny"), 21);
  EXPECT_FALSE(model.activation_checkpointing());
  const Tensor ids = token_ids(2, 24, model.config().vocab_size, 1);
  const Tensor targets = token_ids(2, 24, model.config().vocab_size, 2);
  const LossAndGrads plain = loss_and_grads(model, ids, targets);
  EXPECT_EQ(plain.grads.size(), model.named_parameters().size());

  model.set_activation_checkpointing(true);
  EXPECT_TRUE(model.activation_checkpointing());
  // The blocks really go through checkpoint nodes.
  const Tensor logits = model.forward(ids);
  EXPECT_TRUE(logits.requires_grad());
  expect_same(loss_and_grads(model, ids, targets), plain);

  // Inference with a KV cache is not checkpointed and gives the plain logits.
  KvCache cache = model.make_cache(2, 24);
  EXPECT_EQ(model.forward(ids, &cache).to_vector(), logits.to_vector());
}

TEST(ActivationCheckpoint, LlamaWithLoraTrainsOnlyTheAdaptersToTheSameGradients) {
  LlamaForCausalLM model(preset_config("tiny"), 22);
  apply_lora(model, {.rank = 4, .alpha = 8.0, .targets = "all-linear", .seed = 3});
  // Non-zero B so the A gradients are non-zero too.
  core::Rng rng(5);
  for (auto& [name, tensor] : lora_parameters(model))
    if (name.ends_with("lora_B.weight")) tensor.copy_from(normal_tensor(tensor.shape(), 0.05, rng));
  const Tensor ids = token_ids(2, 20, model.config().vocab_size, 3);
  const Tensor targets = token_ids(2, 20, model.config().vocab_size, 4);

  const LossAndGrads plain = loss_and_grads(model, ids, targets);
  model.set_activation_checkpointing(true);
  const LossAndGrads checkpointed = loss_and_grads(model, ids, targets);
  expect_same(checkpointed, plain);
  EXPECT_EQ(checkpointed.grads.size(), lora_parameters(model).size());
  for (const auto& [name, grad] : checkpointed.grads) EXPECT_TRUE(is_lora_parameter(name)) << name;
}

// LoRA dropout draws its masks through next_random_counter: a checkpointed model recomputes
// each block with the forward's masks, step after step.
TEST(ActivationCheckpoint, LoraDropoutMasksReplayAcrossSteps) {
  const auto make = [](bool checkpointing) {
    auto model = std::make_unique<LlamaForCausalLM>(preset_config("tiny"), 22);
    apply_lora(*model, {.rank = 4, .alpha = 8.0, .dropout = 0.3f, .targets = "all-linear", .seed = 3});
    core::Rng rng(5);
    for (auto& [name, tensor] : lora_parameters(*model))
      if (name.ends_with("lora_B.weight")) tensor.copy_from(normal_tensor(tensor.shape(), 0.05, rng));
    model->set_activation_checkpointing(checkpointing);
    return model;
  };
  auto plain = make(false), checkpointed = make(true);
  const Tensor ids = token_ids(2, 20, 512, 3), targets = token_ids(2, 20, 512, 4);
  for (int step = 0; step < 2; ++step) {
    const LossAndGrads a = loss_and_grads(*plain, ids, targets);
    const LossAndGrads b = loss_and_grads(*checkpointed, ids, targets);
    SCOPED_TRACE(step);
    expect_same(b, a);
    EXPECT_FALSE(a.grads.empty());
  }
}

std::size_t peak_bytes_of_a_training_pass(bool checkpointing) {
  LlamaForCausalLM model(preset_config("tiny"), 23);
  model.set_activation_checkpointing(checkpointing);
  const Tensor ids = token_ids(4, 64, model.config().vocab_size, 5);
  const Tensor targets = token_ids(4, 64, model.config().vocab_size, 6);
  core::allocator().reset_peak();
  const std::size_t before = core::allocator().stats().allocated_bytes;
  autograd::backward(model.loss(ids, targets));
  return core::allocator().stats().peak_allocated_bytes - before;
}

TEST(ActivationCheckpoint, LlamaPeakAllocatedBytesAreLower) {
  const std::size_t plain = peak_bytes_of_a_training_pass(false);
  const std::size_t checkpointed = peak_bytes_of_a_training_pass(true);
  RecordProperty("peak_bytes_plain", std::to_string(plain));
  RecordProperty("peak_bytes_checkpointed", std::to_string(checkpointed));
  EXPECT_LT(checkpointed, plain) << "plain " << plain << " B, checkpointed " << checkpointed << " B";
}

}  // namespace
}  // namespace sieve::nn
