// libFuzzer target: a GGUF file end to end through `sieve import`'s reading path — parse_gguf,
// then read_llama_gguf (config from the metadata, the tokenizer rebuilt and loaded, every tensor
// checked and decoded) under a small model-memory limit. A core::UserError is the expected
// answer to a bad file; any other exception, a sanitizer report, or a header that breaks the
// promises the decoder relies on is a bug and crashes the run.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "sieve/convert_gguf/gguf_import.h"
#include "sieve/convert_gguf/gguf_reader.h"
#include "sieve/core/error.h"
#include "sieve/io/model_limits.h"

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "accepted GGUF breaks its contract: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool limited = [] {
    sieve::io::set_max_model_bytes(std::uint64_t{64} << 20);
    return true;
  }();
  (void)limited;
  const auto bytes = std::as_bytes(std::span(data, size));
  try {
    const auto header = sieve::convert_gguf::parse_gguf(bytes, "fuzz input");
    if (header.data_start > size) broken("data section starts past the end");
    for (const auto& tensor : header.tensors)
      if (tensor.offset > size - header.data_start || tensor.bytes > size - header.data_start - tensor.offset)
        broken("tensor outside the file");
    (void)sieve::convert_gguf::read_llama_gguf(bytes, header, "fuzz input");
  } catch (const sieve::core::UserError&) {
  }
  return 0;
}
