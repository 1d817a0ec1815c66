// Learning-rate schedule: linear warmup to the peak, then cosine decay to a floor.
#pragma once

#include <cstdint>

namespace sieve::train {

struct CosineSchedule {
  float peak_lr = 3e-4f;
  float min_lr = 3e-5f;
  std::int64_t warmup_steps = 100;
  std::int64_t total_steps = 1000;

  // LR for applied step `step` (0-based).
  float lr_at(std::int64_t step) const;
};

}  // namespace sieve::train
