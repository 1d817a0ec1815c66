// The distillation trainer: at α = 0 it is the ordinary trainer bit for bit (same losses, same
// weights), with a teacher it lowers the KL to the teacher over the steps, hidden-state matching
// trains its projection and lowers its term, and it rejects options, vocabularies and contexts
// that cannot work.
#include "sieve/compress/distill/distill_trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <span>
#include <vector>

#include "../train/train_test_util.h"
#include "sieve/core/error.h"

namespace sieve::compress {
namespace {

using train::testing::small_options;
using train::testing::snapshot;
using train::testing::write_shards;

nn::LlamaForCausalLM tiny(std::uint64_t seed) { return nn::LlamaForCausalLM(nn::preset_config("tiny"), seed); }

// A smaller student on the same vocabulary: one layer, narrower.
nn::LlamaConfig small_student_config() {
  nn::LlamaConfig config = nn::preset_config("tiny");
  config.hidden_size = 32;
  config.num_hidden_layers = 1;
  config.num_attention_heads = 2;
  config.num_key_value_heads = 2;
  config.intermediate_size = 64;
  return config;
}

TEST(DistillTrainer, AlphaZeroIsPlainTrainingBitForBit) {
  testing::TempDir dir;
  const auto shards = write_shards(dir.path());
  nn::LlamaForCausalLM teacher = tiny(99);
  nn::LlamaForCausalLM plain_student(small_student_config(), 7), distilled_student(small_student_config(), 7);
  train::Trainer plain(plain_student, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val),
                       small_options(4));
  DistillTrainer distill(teacher, distilled_student, data::TokenShard::open(shards.train),
                         data::TokenShard::open(shards.val), small_options(4), {.alpha = 0.0f, .temperature = 4.0f});
  for (int step = 0; step < 4; ++step) {
    const train::StepResult a = plain.step(), b = distill.trainer().step();
    EXPECT_EQ(a.loss, b.loss) << "step " << step;
    EXPECT_EQ(a.grad_norm, b.grad_norm) << "step " << step;
  }
  EXPECT_EQ(snapshot(plain_student), snapshot(distilled_student));
  EXPECT_EQ(distill.teacher_seconds(), 0.0);  // the teacher is not run at α = 0
}

// The teacher: the student's own initial weights with the output head scaled up, so its
// distributions are sharper versions of the student's — a gap the student can close in a few
// steps (a random teacher of another shape would take far longer to imitate).
void sharpen(nn::LlamaForCausalLM& teacher) {
  for (auto& [name, parameter] : teacher.named_parameters())
    if (name == "lm_head.weight")
      for (float& w : std::span(parameter.data<float>(), static_cast<std::size_t>(parameter.numel()))) w *= 20.0f;
}

TEST(DistillTrainer, LowersTheKlToTheTeacher) {
  testing::TempDir dir;
  const auto shards = write_shards(dir.path());
  nn::LlamaForCausalLM teacher(small_student_config(), 7);
  sharpen(teacher);
  nn::LlamaForCausalLM student(small_student_config(), 7);
  train::TrainerOptions options = small_options(40);
  options.schedule.peak_lr = 1e-2f;
  options.schedule.min_lr = 5e-3f;
  DistillTrainer distill(teacher, student, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val),
                         options, {.alpha = 1.0f, .temperature = 2.0f});
  std::vector<double> kl;
  distill.trainer().on_step_result = [&](std::int64_t, const train::StepResult& result) {
    kl.push_back(result.terms.at("kl"));
    EXPECT_FALSE(result.terms.contains("ce"));  // α = 1: the labels' term is not computed
  };
  distill.run();
  ASSERT_EQ(kl.size(), 40u);
  const auto mean = [](const std::vector<double>& v, std::size_t from, std::size_t to) {
    double sum = 0.0;
    for (std::size_t i = from; i < to; ++i) sum += v[i];
    return sum / static_cast<double>(to - from);
  };
  EXPECT_GT(mean(kl, 0, 5), 0.3);
  EXPECT_LT(mean(kl, 35, 40), 0.7 * mean(kl, 0, 5));
  EXPECT_GT(distill.teacher_seconds(), 0.0);
}

TEST(DistillTrainer, HiddenStateMatchingTrainsTheProjection) {
  testing::TempDir dir;
  const auto shards = write_shards(dir.path());
  nn::LlamaForCausalLM teacher = tiny(99);  // 64 wide; the student is 32
  nn::LlamaForCausalLM student(small_student_config(), 7);
  train::TrainerOptions options = small_options(30);
  options.schedule.peak_lr = 1e-2f;
  options.schedule.min_lr = 5e-3f;
  DistillTrainer distill(teacher, student, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val),
                         options, {.alpha = 0.0f, .temperature = 1.0f, .hidden_weight = 1.0f});
  ASSERT_NE(distill.projection(), nullptr);
  EXPECT_EQ(distill.projection()->weight().shape(), (core::Shape{64, 32}));
  const std::vector<float> initial = distill.projection()->weight().to_vector();
  std::vector<double> hidden;
  distill.trainer().on_step_result = [&](std::int64_t, const train::StepResult& result) {
    hidden.push_back(result.terms.at("hidden"));
    EXPECT_TRUE(result.terms.contains("ce"));
    EXPECT_FALSE(result.terms.contains("kl"));  // α = 0
  };
  distill.run();
  ASSERT_EQ(hidden.size(), 30u);
  double first = 0.0, last = 0.0;
  for (int i = 0; i < 5; ++i) {
    first += hidden[i];
    last += hidden[25 + i];
  }
  EXPECT_LT(last, 0.7 * first);
  EXPECT_NE(distill.projection()->weight().to_vector(), initial);
  EXPECT_GT(distill.teacher_seconds(), 0.0);  // the teacher runs for its hidden states even at α = 0
  // The term reaches the student too: it ends elsewhere than plain training from the same start.
  nn::LlamaForCausalLM plain_student(small_student_config(), 7);
  DistillTrainer plain(teacher, plain_student, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val),
                       options, {.alpha = 0.0f});
  plain.run();
  EXPECT_NE(snapshot(plain_student), snapshot(student));
}

TEST(DistillTrainer, RejectsWhatCannotWork) {
  testing::TempDir dir;
  const auto shards = write_shards(dir.path());
  nn::LlamaForCausalLM teacher = tiny(99);
  const auto make = [&](nn::LlamaForCausalLM& student, train::TrainerOptions options, DistillOptions distill) {
    DistillTrainer trainer(teacher, student, data::TokenShard::open(shards.train), data::TokenShard::open(shards.val),
                           options, distill);
  };
  nn::LlamaForCausalLM student(small_student_config(), 7);
  EXPECT_THROW(make(student, small_options(2), {.alpha = 1.5f}), core::UserError);
  EXPECT_THROW(make(student, small_options(2), {.alpha = -0.1f}), core::UserError);
  EXPECT_THROW(make(student, small_options(2), {.temperature = 0.0f}), core::UserError);
  EXPECT_THROW(make(student, small_options(2), {.temperature = NAN}), core::UserError);
  EXPECT_THROW(make(student, small_options(2), {.hidden_weight = -1.0f}), core::UserError);
  nn::LlamaConfig other_vocab = small_student_config();
  other_vocab.vocab_size = 600;
  nn::LlamaForCausalLM wrong(other_vocab, 7);
  EXPECT_THROW(make(wrong, small_options(2), {}), core::UserError);
  nn::LlamaConfig long_context = small_student_config();
  long_context.max_position_embeddings = 512;
  nn::LlamaForCausalLM long_student(long_context, 7);
  train::TrainerOptions too_long = small_options(2);
  too_long.context = 256;  // the teacher (tiny) reads at most 128 tokens
  EXPECT_THROW(make(long_student, too_long, {}), core::UserError);
}

}  // namespace
}  // namespace sieve::compress
