// Training with the dense-to-sparse blend (TrainerOptions::dense_blend_steps): the share anneals
// from 1 to 0 over the blend steps, validation measures the sparse model whatever the share,
// the run ends with the blend off, and the flag is checked against the model.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sieve/autograd/grad_mode.h"
#include "sieve/core/error.h"
#include "small_sparse_config.h"
#include "train_test_util.h"

namespace sieve::train {
namespace {

using core::Tensor;
using testing::small_options;
using testing::write_shards;

nn::LlamaForCausalLM sparse_tiny_model() { return nn::LlamaForCausalLM(sieve::testing::small_sparse_config(), 5); }

TEST(DenseBlendTraining, TheShareAnnealsFromOneToZero) {
  EXPECT_EQ(dense_blend_share(0, 4), 1.0f);
  EXPECT_EQ(dense_blend_share(1, 4), 0.75f);
  EXPECT_EQ(dense_blend_share(3, 4), 0.25f);
  EXPECT_EQ(dense_blend_share(4, 4), 0.0f);
  EXPECT_EQ(dense_blend_share(9, 4), 0.0f);
  EXPECT_EQ(dense_blend_share(0, 0), 0.0f);  // off
}

TEST(DenseBlendTraining, ValidationMeasuresTheSparseModelAndTheRunEndsWithTheBlendOff) {
  sieve::testing::TempDir dir;
  const auto shards = write_shards(dir.path());
  nn::LlamaForCausalLM model = sparse_tiny_model();
  TrainerOptions options = small_options(3);
  options.context = 160;
  options.dense_blend_steps = 2;
  Trainer trainer(model, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val), options);

  trainer.step();  // step 0 of 2: share 1
  EXPECT_EQ(model.dense_blend(), 1.0f);
  const double validated = trainer.evaluate();
  EXPECT_EQ(model.dense_blend(), 1.0f);  // restored after validation
  {
    const auto row = [](std::uint64_t seed) {
      const auto tokens = testing::random_tokens(160, seed);
      return Tensor::from_vector(std::vector<std::int64_t>(tokens.begin(), tokens.end()), {1, 160});
    };
    const Tensor ids = row(3), targets = row(4);
    autograd::NoGradGuard no_grad;
    const double blended = model.loss(ids, targets).item();
    model.set_dense_blend(0.0f);
    EXPECT_NE(model.loss(ids, targets).item(), blended);  // the share does change the model's output
    EXPECT_EQ(trainer.evaluate(), validated);              // but not what validation measures
  }

  trainer.step();  // step 1 of 2: share 0.5
  EXPECT_EQ(model.dense_blend(), 0.5f);
  trainer.run();
  EXPECT_EQ(model.dense_blend(), 0.0f);
}

TEST(DenseBlendTraining, BadStepCountsAreClearErrors) {
  const nn::LlamaForCausalLM sparse = sparse_tiny_model();
  const nn::LlamaForCausalLM dense = testing::tiny_model();
  const auto message = [](const nn::LlamaForCausalLM& model, std::int64_t steps) {
    try {
      check_dense_blend(model, steps);
    } catch (const core::UserError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message(sparse, -1).find("--dense-blend-steps"), std::string::npos);
  EXPECT_NE(message(dense, 5).find("--dense-blend-steps"), std::string::npos);  // nothing to blend
  EXPECT_EQ(message(sparse, 5), "");
  EXPECT_EQ(message(dense, 0), "");
}

}  // namespace
}  // namespace sieve::train
