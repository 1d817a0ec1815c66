#include "sieve/compress/distill/distill_trainer.h"

#include <chrono>
#include <cmath>

#include "sieve/autograd/grad_mode.h"
#include "sieve/core/error.h"
#include "sieve/core/rng.h"
#include "sieve/ops/arithmetic.h"
#include "sieve/ops/loss.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::compress {

void check_distill_options(const DistillOptions& options) {
  SIEVE_USER_CHECK(options.alpha >= 0.0f && options.alpha <= 1.0f,
                   "--alpha must be in [0, 1] (the teacher term's weight), got {}", options.alpha);
  SIEVE_USER_CHECK(std::isfinite(options.temperature) && options.temperature > 0.0f,
                   "--temperature must be a number > 0, got {}", options.temperature);
  SIEVE_USER_CHECK(std::isfinite(options.hidden_weight) && options.hidden_weight >= 0.0f,
                   "--hidden-weight must be a number >= 0 (0: off), got {}", options.hidden_weight);
}

void check_same_vocabulary(const nn::LlamaConfig& teacher, const nn::LlamaConfig& student) {
  SIEVE_USER_CHECK(teacher.vocab_size == student.vocab_size,
                   "the student's vocabulary ({} tokens) differs from the teacher's ({}): distillation compares "
                   "their distributions token by token, so both must use the teacher's tokenizer",
                   student.vocab_size, teacher.vocab_size);
}

train::LossFunction distillation_loss_function(nn::LlamaForCausalLM& teacher, const nn::LlamaForCausalLM& student,
                                               DistillOptions options, const nn::Linear* projection,
                                               std::shared_ptr<double> teacher_seconds) {
  SIEVE_CHECK(options.hidden_weight == 0.0f || projection != nullptr, "hidden-state matching needs a projection");
  return [&teacher, &student, options, projection, teacher_seconds](const data::Batch& batch, train::LossTerms& terms) {
    const std::int64_t rows = batch.inputs.numel();
    const std::int64_t V = student.config().vocab_size;
    const core::Tensor targets = batch.targets.view({rows});  // [N]
    const bool match_hidden = options.hidden_weight > 0.0f;
    const core::Tensor student_hidden = student.hidden_states(batch.inputs);                         // [B, T, Cs]
    const core::Tensor student_logits = ops::reshape(student.head(student_hidden), {rows, V});       // [N, V]
    if (options.alpha == 0.0f && !match_hidden) return ops::cross_entropy(student_logits, targets);  // no teacher
    core::Tensor teacher_hidden, teacher_logits;  // [B, T, Ct], [N, V]
    {
      const auto start = std::chrono::steady_clock::now();
      autograd::NoGradGuard no_grad;
      teacher_hidden = teacher.hidden_states(batch.inputs);
      teacher_logits = teacher.head(teacher_hidden).view({rows, V});
      if (teacher_seconds)
        *teacher_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    ops::DistillationParts parts;
    core::Tensor loss =
        ops::distillation_loss(student_logits, teacher_logits, targets, options.alpha, options.temperature, &parts);
    if (std::isfinite(parts.kl)) terms["kl"] = parts.kl;
    if (std::isfinite(parts.cross_entropy)) terms["ce"] = parts.cross_entropy;
    if (match_hidden) {
      const core::Tensor hidden = ops::mean(ops::square(ops::sub(projection->forward(student_hidden), teacher_hidden)));
      terms["hidden"] = hidden.item();
      loss = ops::add(loss, ops::scale(hidden, options.hidden_weight));
    }
    return loss;
  };
}

namespace {

train::TrainerOptions checked(const nn::LlamaForCausalLM& teacher, const nn::LlamaForCausalLM& student,
                              train::TrainerOptions trainer_options, const DistillOptions& options) {
  check_distill_options(options);
  check_same_vocabulary(teacher.config(), student.config());
  SIEVE_USER_CHECK(trainer_options.context <= teacher.config().max_position_embeddings,
                   "--context {} exceeds the teacher's max_position_embeddings ({})", trainer_options.context,
                   teacher.config().max_position_embeddings);
  return trainer_options;
}

// Student width → teacher width, no bias, N(0, 1/Cs) so that unit-scale hidden states map to
// unit scale; a fixed seed, so a resumed run builds the same one before its checkpoint fills it.
std::shared_ptr<nn::Linear> make_projection(const nn::LlamaForCausalLM& teacher, const nn::LlamaForCausalLM& student,
                                            const DistillOptions& options) {
  if (options.hidden_weight <= 0.0f) return nullptr;
  core::Rng rng(0);
  const std::int64_t Cs = student.config().hidden_size, Ct = teacher.config().hidden_size;
  return std::make_shared<nn::Linear>(Cs, Ct, false, 1.0 / std::sqrt(static_cast<double>(Cs)), rng);
}

}  // namespace

DistillTrainer::DistillTrainer(nn::LlamaForCausalLM& teacher, nn::LlamaForCausalLM& student, data::TokenShard train,
                               data::TokenShard validation, train::TrainerOptions trainer_options,
                               DistillOptions options)
    : projection_(make_projection(teacher, student, options)),
      trainer_(student, std::move(train), std::move(validation),
               checked(teacher, student, std::move(trainer_options), options), projection_.get()) {
  teacher.set_training(false);
  trainer_.loss_function = distillation_loss_function(teacher, student, options, projection_.get(), teacher_seconds_);
}

}  // namespace sieve::compress
