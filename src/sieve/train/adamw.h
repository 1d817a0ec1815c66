// AdamW with decoupled weight decay (Loshchilov & Hutter), the same update as
// torch.optim.AdamW. Optimizer state (first and second moments) is f32.
#pragma once

#include <string>
#include <vector>

#include "sieve/nn/module.h"

namespace sieve::train {

using core::Tensor;

struct AdamWOptions {
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0.1f;
  // Decay only matrices (rank ≥ 2): norms and biases keep their scale. Off = decay all,
  // like a bare torch.optim.AdamW.
  bool decay_matrices_only = true;
};

class AdamW {
 public:
  AdamW(nn::NamedTensors parameters, AdamWOptions options);

  // One update with learning rate `lr` from the parameters' current .grad; parameters
  // without a gradient are left alone.
  void step(float lr);
  std::int64_t steps_taken() const { return step_; }

  // State for checkpoints: "exp_avg.<name>", "exp_avg_sq.<name>" and the step count.
  nn::NamedTensors state() const;
  void load_state(const nn::NamedTensors& state, std::int64_t step);

 private:
  struct Slot {
    std::string name;
    Tensor parameter;
    Tensor exp_avg;
    Tensor exp_avg_sq;
    bool decay;
  };
  std::vector<Slot> slots_;
  AdamWOptions options_;
  std::int64_t step_ = 0;
};

}  // namespace sieve::train
