// The seeds of fuzz_gguf (tests/fuzz/corpus/gguf/, written by tests/fuzz/make_seeds.py) through
// the same reading path, under the same memory limit: valid_* seeds read, invalid_* seeds are
// UserErrors.
#include <gtest/gtest.h>

#include <span>

#include "fuzz_seeds.h"
#include "sieve/convert_gguf/gguf_import.h"
#include "sieve/io/model_limits.h"

namespace sieve::convert_gguf {
namespace {

TEST(FuzzCorpus, GgufSeeds) {
  struct Limit {
    Limit() { io::set_max_model_bytes(std::uint64_t{64} << 20); }
    ~Limit() { io::set_max_model_bytes(0); }
  } limit;
  sieve::testing::check_fuzz_seeds("gguf", [](const std::string& bytes, const std::string& name) {
    const auto span = std::as_bytes(std::span(bytes.data(), bytes.size()));
    (void)read_llama_gguf(span, parse_gguf(span, name), name);
  });
}

}  // namespace
}  // namespace sieve::convert_gguf
