// Runs the seed files of a fuzz target (tests/fuzz/corpus/<target>/) through the code it
// fuzzes on every test run — the fuzz build needs clang, this does not — and keeps their names
// honest: a valid_* seed must load, an invalid_* seed must be refused with a core::UserError.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "sieve/core/error.h"

namespace sieve::testing {

inline const std::filesystem::path kFuzzCorpus = std::filesystem::path(SIEVE_FIXTURE_DIR) / ".." / "fuzz" / "corpus";

// Calls load(bytes, seed name) for each seed of `target`.
template <typename Load>
void check_fuzz_seeds(const std::string& target, Load load) {
  int valid = 0, invalid = 0;
  for (const auto& file : std::filesystem::directory_iterator(kFuzzCorpus / target)) {
    const std::string name = file.path().filename().string();
    SCOPED_TRACE(target + "/" + name);
    std::ifstream in(file.path(), std::ios::binary);
    const std::string bytes(std::istreambuf_iterator<char>(in), {});
    if (name.starts_with("valid_")) {
      EXPECT_NO_THROW(load(bytes, name));
      ++valid;
    } else {
      ASSERT_TRUE(name.starts_with("invalid_")) << "seed names start with valid_ or invalid_";
      EXPECT_THROW(load(bytes, name), core::UserError);
      ++invalid;
    }
  }
  EXPECT_GT(valid, 0);
  EXPECT_GT(invalid, 0);
}

}  // namespace sieve::testing
