#include <gtest/gtest.h>

#include <cmath>

#include "sieve/core/parallel.h"
#include "sieve/core/rng.h"

namespace sieve::core {
namespace {

TEST(Rng, SameSeedSameStreamAndStateRestores) {
  Rng a(42), b(42), c(43);
  EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_NE(a.next_u64(), c.next_u64());
  const Rng::State saved = a.state();
  const double first = a.normal();
  const std::uint64_t second = a.below(1000);
  a.set_state(saved);
  EXPECT_EQ(a.normal(), first);
  EXPECT_EQ(a.below(1000), second);
}

TEST(Rng, DistributionsHaveTheRightMoments) {
  Rng rng(1);
  const int n = 200000;
  double sum = 0, sum_sq = 0, uniform_sum = 0;
  for (int i = 0; i < n; ++i) {
    const double x = rng.normal();
    sum += x;
    sum_sq += x * x;
    uniform_sum += rng.uniform();
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum_sq / n, 1.0, 0.02);
  EXPECT_NEAR(uniform_sum / n, 0.5, 0.01);
  for (int i = 0; i < 1000; ++i) EXPECT_LT(rng.below(7), 7u);
}

TEST(Parallel, CoversTheRangeExactlyOnce) {
  std::vector<int> hits(10007, 0);
  parallel_for(static_cast<std::int64_t>(hits.size()), 16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) ++hits[static_cast<std::size_t>(i)];
  });
  for (int h : hits) EXPECT_EQ(h, 1);
  parallel_for(0, 1, [](std::int64_t, std::int64_t) { FAIL() << "empty range must not call the body"; });
}

}  // namespace
}  // namespace sieve::core
