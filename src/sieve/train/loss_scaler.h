// Dynamic loss scaling for low-precision gradients, with the rule of PyTorch's
// torch.amp.GradScaler: the loss (in practice, the seed gradient of backward) is multiplied by
// `scale`; after backward the gradients are divided by it and checked for inf/NaN.
//   - inf/NaN found: the optimizer step is skipped, scale *= backoff_factor (never below
//     min_scale), and the growth tracker resets to 0;
//   - clean step: the growth tracker counts up; when it reaches growth_interval
//     (= loss_scale_window), scale *= growth_factor (only while the result is finite) and the
//     tracker resets to 0.
// Hysteresis (off at its default of 1, which is exactly GradScaler): the scale backs off only on
// the `hysteresis`-th consecutive overflow; a clean step re-arms it. Steps with an overflow are
// skipped either way — their gradients cannot be applied.
//
// Disabled (fp32 / bf16 training) the scaler is a no-op: scale 1, nothing is unscaled or
// checked, nothing is ever skipped.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "sieve/core/tensor.h"

namespace sieve::train {

struct LossScalerOptions {
  bool enabled = false;
  float init_scale = 65536.0f;  // 2^16
  float growth_factor = 2.0f;
  float backoff_factor = 0.5f;
  std::int64_t growth_interval = 1000;  // consecutive clean steps before growing
  int hysteresis = 1;                   // consecutive overflows before backing off
  float min_scale = 1.0f;
};

// Everything a checkpoint needs to continue the scale trace exactly.
struct LossScalerState {
  float scale = 1.0f;
  std::int64_t growth_tracker = 0;     // consecutive clean steps since the last change
  int hysteresis_left = 1;             // overflows still tolerated before backing off
  std::int64_t skipped_steps = 0;      // steps skipped for inf/NaN gradients, in total
  std::int64_t applied_steps = 0;      // steps with finite gradients, in total
  bool operator==(const LossScalerState&) const = default;
};

void to_json(nlohmann::json& j, const LossScalerState& state);
void from_json(const nlohmann::json& j, LossScalerState& state);

class LossScaler {
 public:
  // Throws core::UserError for a non-positive scale, growth ≤ 1, backoff outside (0, 1),
  // growth_interval < 1 or hysteresis < 1.
  explicit LossScaler(LossScalerOptions options = {});

  bool enabled() const { return options_.enabled; }
  const LossScalerOptions& options() const { return options_; }
  // The current scale; 1 when disabled.
  float scale() const { return enabled() ? state_.scale : 1.0f; }
  // The factor to multiply the loss's seed gradient with: scale() × extra (e.g. 1/N for
  // gradient accumulation).
  float seed_factor(float extra = 1.0f) const { return scale() * extra; }

  // Divides every defined f32 gradient by scale() and reports whether any element is inf or
  // NaN (after a found inf the gradients are garbage; the step must be skipped). Disabled:
  // returns false and touches nothing.
  bool unscale_and_check(const std::vector<core::Tensor>& parameters) const;

  // Advances the scale after a step: found_inf = the step was skipped. Disabled: only the
  // applied/skipped counters move.
  void update(bool found_inf);

  std::int64_t skipped_steps() const { return state_.skipped_steps; }
  std::int64_t applied_steps() const { return state_.applied_steps; }
  std::int64_t growth_tracker() const { return state_.growth_tracker; }

  const LossScalerState& state() const { return state_; }
  // Throws core::UserError for a state that cannot come from this scaler (non-positive or
  // non-finite scale, negative counters).
  void load_state(const LossScalerState& state);

 private:
  LossScalerOptions options_;
  LossScalerState state_;
};

}  // namespace sieve::train
