// Knowledge distillation: a student LM trained toward a teacher's next-token distributions
// (ops::distillation_loss) through the ordinary train::Trainer — its precision modes, gradient
// accumulation, LR schedule, checkpoints and resume, metrics stream and progress line — by way of
// its loss hook (train::LossFunction). The teacher runs in inference mode with no graph; its
// logits are computed per micro-batch on the student's tokens. Optionally the student's last
// hidden state is also matched to the teacher's through a learned projection. Method and measurements:
// docs/compression.md, "Knowledge distillation".
#pragma once

#include <atomic>
#include <memory>

#include "sieve/data/token_shard.h"
#include "sieve/nn/models/llama.h"
#include "sieve/train/trainer.h"

namespace sieve::compress {

struct DistillOptions {
  float alpha = 0.5f;        // weight of the teacher term; 1 − alpha goes to the labels' cross-entropy
  float temperature = 2.0f;  // T: both distributions are softmax(logits / T)
  // β of hidden-state matching (0: off): the loss gains β · mean((P·h_student − h_teacher)²) over
  // the last (final-norm) hidden states, P a learned projection from the student's width to the
  // teacher's, trained with the student and dropped afterwards.
  float hidden_weight = 0.0f;
};

// Throws core::UserError naming --alpha unless it is in [0, 1], --temperature unless it is a
// finite number > 0, and --hidden-weight unless it is a finite number >= 0.
void check_distill_options(const DistillOptions& options);

// Throws core::UserError unless the two models can share a token stream: the same vocab_size.
// (That their tokenizers are the same file is the caller's check: io has no tokenizer.)
void check_same_vocabulary(const nn::LlamaConfig& teacher, const nn::LlamaConfig& student);

// The loss hook: teacher logits under NoGradGuard (timed into *teacher_seconds when not null),
// the student's logits with grad, ops::distillation_loss of the two; reports "kl" (KL at T) and
// "ce" (cross-entropy on the labels) as loss terms when computed. With options.hidden_weight > 0
// `projection` (student width → teacher width) maps the student's last hidden state and the
// matching term is added ("hidden"). At alpha = 0 without it the teacher is not run and the loss
// is the student's plain next-token loss.
train::LossFunction distillation_loss_function(nn::LlamaForCausalLM& teacher, const nn::LlamaForCausalLM& student,
                                               DistillOptions options, const nn::Linear* projection = nullptr,
                                               std::shared_ptr<double> teacher_seconds = nullptr);

class DistillTrainer {
 public:
  // Checks the options and vocabularies, the context against the teacher's
  // max_position_embeddings, and puts the teacher in inference mode. With options.resume the
  // student, optimizer and data order continue from the newest checkpoint (the teacher is fixed,
  // so nothing else is needed).
  DistillTrainer(nn::LlamaForCausalLM& teacher, nn::LlamaForCausalLM& student, data::TokenShard train,
                 data::TokenShard validation, train::TrainerOptions trainer_options, DistillOptions options);

  train::TrainResult run(const std::atomic<bool>* stop = nullptr) { return trainer_.run(stop); }
  train::Trainer& trainer() { return trainer_; }
  // Seconds spent in the teacher's forward passes so far.
  double teacher_seconds() const { return *teacher_seconds_; }
  // The hidden-state projection (null without hidden-state matching).
  const nn::Linear* projection() const { return projection_.get(); }

 private:
  std::shared_ptr<double> teacher_seconds_ = std::make_shared<double>(0.0);
  std::shared_ptr<nn::Linear> projection_;
  train::Trainer trainer_;
};

}  // namespace sieve::compress
