// Route specs and the weighted, sticky pick of A/B traffic splitting.
#include <gtest/gtest.h>

#include <map>

#include "sieve/core/error.h"
#include "sieve/serve/route.h"

namespace {

using sieve::serve::Route;

TEST(Route, ParsesWeightsAndAShadow) {
  const Route route = Route::parse("chat", "a:90,b:10,shadow=c");
  ASSERT_EQ(route.variants.size(), 2u);
  EXPECT_EQ(route.variants[0].model, "a");
  EXPECT_EQ(route.variants[1].weight, 10);
  EXPECT_EQ(route.shadow, "c");
  EXPECT_EQ(route.spec(), "a:90,b:10,shadow=c");
}

TEST(Route, BadSpecsAreUserErrors) {
  for (const char* spec : {"", "a", "a:0", "a:-1", "a:1.5", "a:x", ":5", "a:1,a:2", "a:1,shadow=a", "shadow=c",
                           "a:1,shadow=", "a:1,shadow=b,shadow=c", "a:10000000"})
    EXPECT_THROW(Route::parse("chat", spec), sieve::core::UserError) << spec;
}

TEST(Route, KeysSplitByTheWeightsWithinThreePercentAndStick) {
  const Route route = Route::parse("chat", "a:70,b:20,c:10");
  sieve::core::Rng rng(1);
  std::map<std::string, int> counts;
  const int keys = 5000;
  for (int i = 0; i < keys; ++i) {
    const std::string key = "user-" + std::to_string(i);
    const std::string& model = route.pick(key, rng).model;
    ++counts[model];
    for (int again = 0; again < 3; ++again) EXPECT_EQ(route.pick(key, rng).model, model) << key;
  }
  EXPECT_NEAR(counts["a"] / double(keys), 0.70, 0.03);
  EXPECT_NEAR(counts["b"] / double(keys), 0.20, 0.03);
  EXPECT_NEAR(counts["c"] / double(keys), 0.10, 0.03);
}

TEST(Route, RequestsWithoutAKeySplitByTheWeights) {
  const Route route = Route::parse("chat", "a:90,b:10");
  sieve::core::Rng rng(3);
  int to_b = 0;
  for (int i = 0; i < 5000; ++i) to_b += route.pick("", rng).model == "b";
  EXPECT_NEAR(to_b / 5000.0, 0.10, 0.03);
}

}  // namespace
