#include "sieve/train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace sieve::train {

float CosineSchedule::lr_at(std::int64_t step) const {
  if (warmup_steps > 0 && step < warmup_steps)
    return peak_lr * static_cast<float>(step + 1) / static_cast<float>(warmup_steps);
  const std::int64_t decay_steps = std::max<std::int64_t>(1, total_steps - warmup_steps);
  const double progress = std::clamp(static_cast<double>(step - warmup_steps) / static_cast<double>(decay_steps), 0.0, 1.0);
  const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  return static_cast<float>(min_lr + (peak_lr - min_lr) * cosine);
}

}  // namespace sieve::train
