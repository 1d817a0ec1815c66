// Stop strings: the text ends before the first one, and no part of one is ever released early.
#include <gtest/gtest.h>

#include "sieve/serve/stop_matcher.h"

namespace {

using sieve::serve::StopMatcher;

TEST(StopMatcher, EndsBeforeTheFirstStopStringAcrossPieces) {
  StopMatcher matcher({"END", "\n\n"});
  std::string released;
  for (const char* piece : {"Hello ", "wor", "ld E", "N", "D and more"}) released += matcher.push(piece);
  EXPECT_TRUE(matcher.stopped());
  EXPECT_EQ(released, "Hello world ");
  EXPECT_EQ(matcher.push("later"), "");
  EXPECT_EQ(matcher.finish(), "");
}

TEST(StopMatcher, HoldsBackOnlyWhatCouldStartAStopString) {
  StopMatcher matcher({"END"});
  EXPECT_EQ(matcher.push("abcE"), "abc");
  EXPECT_EQ(matcher.push("Nx"), "ENx");  // "ENx" is not "END"
  EXPECT_EQ(matcher.push("E"), "");
  EXPECT_EQ(matcher.finish(), "E");
  EXPECT_FALSE(matcher.stopped());
}

TEST(StopMatcher, WithoutStopStringsEverythingPassesAndEmptyOnesNeverMatch) {
  StopMatcher matcher({""});
  EXPECT_EQ(matcher.push("text"), "text");
  EXPECT_FALSE(matcher.stopped());
}

}  // namespace
