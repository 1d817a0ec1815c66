#include "sieve/train/loss_scaler.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "sieve/core/error.h"
#include "sieve/core/parallel.h"

namespace sieve::train {
namespace {

// g *= inv_scale over [begin, end); true if any result is inf or NaN. `v - v` is NaN exactly
// for a non-finite v, so the probe stays 0 for finite data (no branch in the loop).
bool unscale_range(float* g, std::int64_t begin, std::int64_t end, float inv_scale) {
  float probe = 0.0f;
  for (std::int64_t i = begin; i < end; ++i) {
    const float v = g[i] * inv_scale;
    g[i] = v;
    probe += v - v;
  }
  return !(probe == 0.0f);
}

}  // namespace

void to_json(nlohmann::json& j, const LossScalerState& state) {
  j = {{"scale", state.scale},
       {"growth_tracker", state.growth_tracker},
       {"hysteresis_left", state.hysteresis_left},
       {"skipped_steps", state.skipped_steps},
       {"applied_steps", state.applied_steps}};
}

void from_json(const nlohmann::json& j, LossScalerState& state) {
  state.scale = j.at("scale").get<float>();
  state.growth_tracker = j.at("growth_tracker").get<std::int64_t>();
  state.hysteresis_left = j.at("hysteresis_left").get<int>();
  state.skipped_steps = j.at("skipped_steps").get<std::int64_t>();
  state.applied_steps = j.at("applied_steps").get<std::int64_t>();
}

LossScaler::LossScaler(LossScalerOptions options) : options_(options) {
  SIEVE_USER_CHECK(std::isfinite(options_.init_scale) && options_.init_scale > 0.0f,
                   "initial loss scale must be positive and finite, got {}", options_.init_scale);
  SIEVE_USER_CHECK(options_.growth_factor > 1.0f, "loss-scale growth factor must be > 1, got {}",
                   options_.growth_factor);
  SIEVE_USER_CHECK(options_.backoff_factor > 0.0f && options_.backoff_factor < 1.0f,
                   "loss-scale backoff factor must be in (0, 1), got {}", options_.backoff_factor);
  SIEVE_USER_CHECK(options_.growth_interval >= 1, "--loss-scale-window must be >= 1, got {}",
                   options_.growth_interval);
  SIEVE_USER_CHECK(options_.hysteresis >= 1, "loss-scale hysteresis must be >= 1, got {}", options_.hysteresis);
  SIEVE_USER_CHECK(options_.min_scale > 0.0f && options_.min_scale <= options_.init_scale,
                   "minimum loss scale must be in (0, initial scale {}], got {}", options_.init_scale,
                   options_.min_scale);
  state_.scale = options_.init_scale;
  state_.hysteresis_left = options_.hysteresis;
}

bool LossScaler::unscale_and_check(const std::vector<core::Tensor>& parameters) const {
  if (!enabled()) return false;
  // 1/scale is exact for the powers of two the default rule produces; GradScaler also
  // multiplies by the fp32 reciprocal.
  const float inv_scale = 1.0f / state_.scale;
  std::atomic<bool> found{false};
  for (const auto& parameter : parameters) {
    const core::Tensor grad = parameter.grad();
    if (!grad.defined()) continue;
    SIEVE_CHECK(grad.dtype() == core::DType::f32 && grad.is_contiguous(), "unscaling needs contiguous f32 gradients");
    float* data = grad.data<float>();
    core::parallel_for(grad.numel(), 1 << 16, [&](std::int64_t begin, std::int64_t end) {
      if (unscale_range(data, begin, end, inv_scale)) found.store(true, std::memory_order_relaxed);
    });
  }
  return found.load();
}

void LossScaler::update(bool found_inf) {
  if (found_inf)
    ++state_.skipped_steps;
  else
    ++state_.applied_steps;
  if (!enabled()) return;
  if (found_inf) {
    state_.growth_tracker = 0;
    if (--state_.hysteresis_left <= 0) {
      state_.scale = std::max(state_.scale * options_.backoff_factor, options_.min_scale);
      state_.hysteresis_left = options_.hysteresis;
    }
    return;
  }
  state_.hysteresis_left = options_.hysteresis;  // hysteresis counts consecutive overflows
  // ≥ rather than GradScaler's ==: the same on every trace this scaler produces, and a state
  // restored under a smaller window still grows.
  if (++state_.growth_tracker >= options_.growth_interval) {
    const float grown = state_.scale * options_.growth_factor;
    if (std::isfinite(grown)) state_.scale = grown;  // GradScaler grows only to a finite value
    state_.growth_tracker = 0;
  }
}

void LossScaler::load_state(const LossScalerState& state) {
  SIEVE_USER_CHECK(std::isfinite(state.scale) && state.scale > 0.0f, "loss-scaler state has scale {}", state.scale);
  SIEVE_USER_CHECK(state.growth_tracker >= 0 && state.hysteresis_left >= 1 && state.skipped_steps >= 0 &&
                       state.applied_steps >= 0,
                   "loss-scaler state has negative counters");
  state_ = state;
}

}  // namespace sieve::train
