#include "sieve/nn/activation_checkpoint.h"

#include <memory>
#include <utility>
#include <vector>

#include "sieve/autograd/engine.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/autograd/node.h"
#include "sieve/core/error.h"
#include "sieve/ops/precision.h"

namespace sieve::nn {
namespace {

using core::Tensor;

// The random counter values one checkpointed block drew in its forward, in order, each with the
// counter it came from.
class RandomLog {
 public:
  // A draw while this log is innermost. Recording: take the value from the enclosing log (a
  // block checkpointed inside a block being recomputed must replay the outer draws) or from the
  // counter, and log it. Replaying: hand back the logged value.
  std::uint64_t draw(std::uint64_t& counter);

  // Opens a recording (or replaying) pass with this log innermost on the calling thread.
  class Scope {
   public:
    Scope(RandomLog& log, bool replay);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    // After a replay: every logged draw must have been used.
    void check_replayed(const std::string& name) const;

   private:
    RandomLog& log_;
  };

 private:
  struct Draw {
    const std::uint64_t* counter;
    std::uint64_t value;
  };
  std::vector<Draw> draws_;
  std::size_t next_ = 0;
  bool replay_ = false;
  RandomLog* enclosing_ = nullptr;
};

thread_local RandomLog* t_innermost = nullptr;

std::uint64_t RandomLog::draw(std::uint64_t& counter) {
  if (replay_) {
    SIEVE_CHECK(next_ < draws_.size() && draws_[next_].counter == &counter,
                "activation checkpointing: a block's recomputation drew randomness its forward did not "
                "(draw {} of {} logged); the block is not deterministic",
                next_ + 1, draws_.size());
    return draws_[next_++].value;
  }
  const std::uint64_t value = enclosing_ != nullptr ? enclosing_->draw(counter) : counter++;
  draws_.push_back({&counter, value});
  return value;
}

RandomLog::Scope::Scope(RandomLog& log, bool replay) : log_(log) {
  log_.replay_ = replay;
  log_.next_ = 0;
  log_.enclosing_ = t_innermost;
  t_innermost = &log_;
}

RandomLog::Scope::~Scope() {
  t_innermost = log_.enclosing_;
  log_.enclosing_ = nullptr;
}

void RandomLog::Scope::check_replayed(const std::string& name) const {
  SIEVE_CHECK(log_.next_ == log_.draws_.size(),
              "activation checkpointing: '{}' drew {} random values in its recomputation but {} in its forward",
              name, log_.next_, log_.draws_.size());
}

}  // namespace

std::uint64_t next_random_counter(std::uint64_t& counter) {
  if (t_innermost == nullptr) return counter++;
  return t_innermost->draw(counter);
}

Tensor checkpoint(const CheckpointBlock& block, const Tensor& input, const std::string& name) {
  SIEVE_CHECK(static_cast<bool>(block), "checkpoint '{}' without a block", name);
  if (!autograd::grad_enabled()) return block(input);

  auto log = std::make_shared<RandomLog>();
  const ops::PrecisionPolicy policy = ops::current_precision();
  Tensor output;
  {
    autograd::NoGradGuard no_grad;
    RandomLog::Scope recording(*log, /*replay=*/false);
    output = block(input);
  }
  SIEVE_CHECK(output.defined(), "checkpoint '{}': the block returned an undefined tensor", name);
  // A fresh handle: the block may hand back its input or another tensor with autograd slots of
  // its own, and recording below must not overwrite those.
  output = output.detach();

  // Only x's storage is kept — no history (the upstream graph is reached through the edge).
  const Tensor saved_input = input.detach();
  const bool input_needs_grad = input.requires_grad();
  const core::Shape output_shape = output.shape();
  auto recompute_and_backward = [block, saved_input, input_needs_grad, policy, log, name,
                                 output_shape](const Tensor& grad_output) -> std::vector<Tensor> {
    Tensor leaf = saved_input.detach();
    if (input_needs_grad) leaf.set_requires_grad(true);
    Tensor recomputed;
    {
      autograd::EnableGradGuard grad_on;  // the engine runs nodes with grad off
      ops::PrecisionScope precision(policy);
      RandomLog::Scope replaying(*log, /*replay=*/true);
      recomputed = block(leaf);
      replaying.check_replayed(name);
    }
    SIEVE_CHECK(recomputed.defined() && recomputed.shape() == output_shape,
                "checkpoint '{}': the recomputed output has shape {}, the forward's {}", name,
                recomputed.defined() ? core::shape_string(recomputed.shape()) : "(undefined)",
                core::shape_string(output_shape));
    if (!recomputed.requires_grad()) return {Tensor()};  // nothing in the block trains
    // Re-entrant: a nested pass over the block's own graph, which frees it node by node.
    autograd::backward(recomputed, grad_output);
    return {input_needs_grad ? leaf.grad() : Tensor()};
  };
  // See NOTE [Activation checkpointing] for why this records even when input needs no grad.
  autograd::record(output, name, {&input}, std::move(recompute_and_backward));
  return output;
}

}  // namespace sieve::nn
