// The dynamic loss scaler against hand-computed traces of torch.amp.GradScaler's rule
// (backoff ×0.5 on inf and tracker reset; ×2 when the tracker of clean steps reaches
// growth_interval, then tracker reset), plus hysteresis, the minimum, state round trips and the
// disabled no-op.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "sieve/train/loss_scaler.h"

namespace sieve::train {
namespace {

using core::Tensor;

struct Trace {
  std::vector<float> scale_after;  // scale() after each update
  std::vector<bool> skipped;
};

// 'C' = clean step, 'I' = inf/NaN gradients.
Trace replay(LossScaler& scaler, const std::string& script) {
  Trace trace;
  for (char c : script) {
    const bool found_inf = c == 'I';
    scaler.update(found_inf);
    trace.skipped.push_back(found_inf);
    trace.scale_after.push_back(scaler.scale());
  }
  return trace;
}

TEST(LossScaler, MatchesGradScalerTrace) {
  LossScaler scaler({.enabled = true, .growth_interval = 3});
  EXPECT_EQ(scaler.scale(), 65536.0f);
  // Worked by hand: C C → tracker 2; I → 32768, tracker 0; C C C → tracker hits 3 → 65536;
  // C; I I → 32768, 16384; C C C → 32768; C C C → 65536.
  const Trace trace = replay(scaler, "CCICCCCIICCCCCC");
  const std::vector<float> expected = {65536, 65536, 32768, 32768, 32768, 65536, 65536, 32768,
                                       16384, 16384, 16384, 32768, 32768, 32768, 65536};
  EXPECT_EQ(trace.scale_after, expected);
  EXPECT_EQ(scaler.skipped_steps(), 3);
  EXPECT_EQ(scaler.applied_steps(), 12);
  EXPECT_EQ(scaler.growth_tracker(), 0);
}

TEST(LossScaler, DefaultWindowGrowsAfterExactlyThatManyCleanSteps) {
  LossScaler scaler({.enabled = true, .growth_interval = 1000});
  for (int i = 0; i < 999; ++i) scaler.update(false);
  EXPECT_EQ(scaler.scale(), 65536.0f);
  EXPECT_EQ(scaler.growth_tracker(), 999);
  scaler.update(false);
  EXPECT_EQ(scaler.scale(), 131072.0f);
  EXPECT_EQ(scaler.growth_tracker(), 0);
  // An overflow one step before the window closes restarts the count.
  for (int i = 0; i < 999; ++i) scaler.update(false);
  scaler.update(true);
  EXPECT_EQ(scaler.scale(), 65536.0f);
  for (int i = 0; i < 999; ++i) scaler.update(false);
  EXPECT_EQ(scaler.scale(), 65536.0f);
  scaler.update(false);
  EXPECT_EQ(scaler.scale(), 131072.0f);
}

TEST(LossScaler, HysteresisToleratesConsecutiveOverflows) {
  LossScaler scaler({.enabled = true, .growth_interval = 3, .hysteresis = 2});
  // C; I (tolerated); C re-arms; I (tolerated); I → 32768; I (tolerated); C C C → 65536.
  const Trace trace = replay(scaler, "CICIIICCC");
  const std::vector<float> expected = {65536, 65536, 65536, 65536, 32768, 32768, 32768, 32768, 65536};
  EXPECT_EQ(trace.scale_after, expected);
  EXPECT_EQ(scaler.skipped_steps(), 4) << "every overflow skips its step, tolerated or not";
}

TEST(LossScaler, NeverBacksOffBelowTheMinimumNorGrowsToInfinity) {
  LossScaler low({.enabled = true, .init_scale = 4.0f, .growth_interval = 10, .min_scale = 1.0f});
  const Trace trace = replay(low, "IIII");
  EXPECT_EQ(trace.scale_after, (std::vector<float>{2, 1, 1, 1}));

  const float top = std::ldexp(1.0f, 127);
  LossScaler high({.enabled = true, .init_scale = top, .growth_interval = 1});
  high.update(false);
  EXPECT_EQ(high.scale(), top);
}

TEST(LossScaler, UnscalesAndDetectsInfAndNaN) {
  LossScaler scaler({.enabled = true, .init_scale = 1024.0f});
  Tensor a = Tensor::zeros({3});
  Tensor b = Tensor::zeros({2, 2});
  Tensor no_grad = Tensor::zeros({5});
  a.set_grad(Tensor::from_vector<float>({1024.0f, -2048.0f, 512.0f}, {3}));
  b.set_grad(Tensor::from_vector<float>({0.0f, 1.0f, 3072.0f, -1024.0f}, {2, 2}));
  const std::vector<Tensor> params = {a, b, no_grad};
  EXPECT_FALSE(scaler.unscale_and_check(params));
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{1.0f, -2.0f, 0.5f}));
  EXPECT_EQ(b.grad().to_vector(), (std::vector<float>{0.0f, 1.0f / 1024.0f, 3.0f, -1.0f}));

  b.grad().data<float>()[1] = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(scaler.unscale_and_check(params));
  b.grad().data<float>()[1] = 0.0f;
  a.grad().data<float>()[2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(scaler.unscale_and_check(params));

  // A large gradient: 70000 × 2^16 overflows f32 only once scaled; unscaling a huge finite
  // value stays finite.
  Tensor big = Tensor::zeros({70000});
  big.set_grad(Tensor::full({70000}, 3e38));
  EXPECT_FALSE(scaler.unscale_and_check({big}));
  big.grad().data<float>()[69999] = -std::numeric_limits<float>::infinity();
  EXPECT_TRUE(scaler.unscale_and_check({big})) << "an inf at the end of a parallel range is found";
}

TEST(LossScaler, DisabledIsANoOpWithScaleOne) {
  LossScaler scaler;  // enabled = false
  EXPECT_FALSE(scaler.enabled());
  EXPECT_EQ(scaler.scale(), 1.0f);
  EXPECT_EQ(scaler.seed_factor(0.25f), 0.25f);
  Tensor a = Tensor::zeros({2});
  a.set_grad(Tensor::from_vector<float>({std::numeric_limits<float>::infinity(), 4.0f}, {2}));
  EXPECT_FALSE(scaler.unscale_and_check({a}));
  EXPECT_EQ(a.grad().to_vector()[1], 4.0f) << "nothing unscaled";
  replay(scaler, "IICCC");
  EXPECT_EQ(scaler.scale(), 1.0f);
  EXPECT_EQ(scaler.skipped_steps(), 2);
  EXPECT_EQ(scaler.applied_steps(), 3);
}

TEST(LossScaler, StateRoundTripContinuesTheSameTrace) {
  const LossScalerOptions options{.enabled = true, .growth_interval = 4, .hysteresis = 2};
  LossScaler straight(options);
  const Trace full = replay(straight, "CCICIICCCCCIC");

  LossScaler first(options);
  replay(first, "CCICII");
  const nlohmann::json saved = first.state();
  LossScaler second(options);
  second.load_state(saved.get<LossScalerState>());
  EXPECT_EQ(second.state(), first.state());
  const Trace rest = replay(second, "CCCCCIC");
  EXPECT_EQ(rest.scale_after, std::vector<float>(full.scale_after.begin() + 6, full.scale_after.end()));
  EXPECT_EQ(second.state(), straight.state());
}

TEST(LossScaler, RejectsBadOptionsAndStates) {
  EXPECT_THROW(LossScaler({.enabled = true, .growth_interval = 0}), core::UserError);
  EXPECT_THROW(LossScaler({.enabled = true, .hysteresis = 0}), core::UserError);
  EXPECT_THROW(LossScaler({.enabled = true, .init_scale = -1.0f}), core::UserError);
  EXPECT_THROW(LossScaler({.enabled = true, .backoff_factor = 1.0f}), core::UserError);
  LossScaler scaler({.enabled = true});
  EXPECT_THROW(scaler.load_state({.scale = std::numeric_limits<float>::infinity()}), core::UserError);
}

}  // namespace
}  // namespace sieve::train
