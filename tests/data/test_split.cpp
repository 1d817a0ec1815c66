#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "sieve/core/error.h"
#include "sieve/data/split.h"

namespace sieve::data {
namespace {

std::vector<Split> assign_all(std::uint64_t count, const SplitOptions& options) {
  std::vector<Split> splits;
  for (std::uint64_t i = 0; i < count; ++i) splits.push_back(assign_split(i, options));
  return splits;
}

TEST(Split, SameInputsGiveTheSameSplit) {
  const SplitOptions options{.val_fraction = 0.05, .seed = 123};
  const auto forward = assign_all(5000, options);
  EXPECT_EQ(forward, assign_all(5000, options));
  // Order of asking does not matter: it is a function of the index alone.
  for (std::uint64_t i = 5000; i-- > 0;) ASSERT_EQ(assign_split(i, options), forward[i]);
}

TEST(Split, FractionIsHonouredAndSeedMatters) {
  const std::uint64_t n = 100000;
  for (const double fraction : {0.01, 0.1, 0.3}) {
    const auto splits = assign_all(n, {.val_fraction = fraction, .seed = 7});
    const auto val = std::count(splits.begin(), splits.end(), Split::validation);
    // Binomial: 5 standard deviations.
    const double sd = std::sqrt(n * fraction * (1 - fraction));
    EXPECT_NEAR(static_cast<double>(val), n * fraction, 5 * sd) << fraction;
  }
  EXPECT_NE(assign_all(2000, {.val_fraction = 0.1, .seed = 1}),
            assign_all(2000, {.val_fraction = 0.1, .seed = 2}));
  const auto none = assign_all(1000, {.val_fraction = 0.0, .seed = 1});
  EXPECT_EQ(std::count(none.begin(), none.end(), Split::validation), 0);
}

TEST(Split, LargerFractionOnlyAddsValidationDocuments) {
  // Same seed: a document validated at 5% stays validated at 10% (one uniform per document).
  const auto small = assign_all(10000, {.val_fraction = 0.05, .seed = 9});
  const auto large = assign_all(10000, {.val_fraction = 0.10, .seed = 9});
  for (std::size_t i = 0; i < small.size(); ++i) {
    if (small[i] == Split::validation) {
      EXPECT_EQ(large[i], Split::validation) << i;
    }
  }
}

TEST(Split, BadFractionIsAUserError) {
  EXPECT_NO_THROW(validate_split_options({.val_fraction = 0.0}));
  EXPECT_THROW(validate_split_options({.val_fraction = 1.0}), core::UserError);
  EXPECT_THROW(validate_split_options({.val_fraction = -0.1}), core::UserError);
  EXPECT_THROW(validate_split_options({.val_fraction = std::numeric_limits<double>::quiet_NaN()}),
               core::UserError);
}

}  // namespace
}  // namespace sieve::data
