// The fuzzers' seed files say in their names whether they are valid; keep them honest, and
// run them through the parsers on every test run (the fuzz build needs clang, this does not).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "sieve/core/error.h"
#include "sieve/io/model_config.h"
#include "sieve/io/safetensors.h"

namespace sieve::io {
namespace {

const std::filesystem::path kCorpus = std::filesystem::path(SIEVE_FIXTURE_DIR) / ".." / "fuzz" / "corpus";

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

template <typename Parse>
void check_corpus(const std::string& folder, Parse parse) {
  int valid = 0, invalid = 0;
  for (const auto& file : std::filesystem::directory_iterator(kCorpus / folder)) {
    const std::string name = file.path().filename().string();
    SCOPED_TRACE(name);
    const std::string bytes = read_all(file.path());
    if (name.starts_with("valid_")) {
      EXPECT_NO_THROW(parse(bytes, name));
      ++valid;
    } else {
      ASSERT_TRUE(name.starts_with("invalid_")) << "seed names start with valid_ or invalid_";
      EXPECT_THROW(parse(bytes, name), core::UserError);
      ++invalid;
    }
  }
  EXPECT_GT(valid, 0);
  EXPECT_GT(invalid, 0);
}

TEST(FuzzCorpus, SafetensorsSeeds) {
  check_corpus("safetensors", [](const std::string& bytes, const std::string& name) {
    (void)parse_safetensors_header(std::as_bytes(std::span(bytes.data(), bytes.size())), name);
  });
}

TEST(FuzzCorpus, ConfigSeeds) {
  check_corpus("config", [](const std::string& text, const std::string& name) {
    (void)parse_llama_config_text(text, name);
  });
}

}  // namespace
}  // namespace sieve::io
