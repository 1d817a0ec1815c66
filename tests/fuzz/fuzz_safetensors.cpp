// libFuzzer target: parse_safetensors_header on arbitrary bytes. A core::UserError is the
// expected answer to a bad file; any other exception, a sanitizer report, or a header that
// breaks the promises SafetensorsFile relies on is a bug and crashes the run.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "sieve/core/error.h"
#include "sieve/core/tensor.h"
#include "sieve/io/safetensors.h"

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "accepted header breaks its contract: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  try {
    const auto header = sieve::io::parse_safetensors_header(bytes, "fuzz input");
    if (header.data_start < 8 || header.data_start > size) broken("data_start outside the file");
    const std::uint64_t data_size = size - header.data_start;
    std::uint64_t covered = 0;
    for (const auto& e : header.entries) {
      if (e.begin > e.end || e.end > data_size) broken("offsets outside the data");
      const auto numel = static_cast<std::uint64_t>(sieve::core::shape_numel(e.shape));
      if (numel * sieve::core::dtype_size(e.dtype) != e.end - e.begin) broken("size does not match shape");
      covered += e.end - e.begin;
      // Touch the first and last byte, as a reader would: ASan checks they are in the input.
      if (e.end > e.begin) {
        volatile std::byte first = bytes[header.data_start + e.begin];
        volatile std::byte last = bytes[header.data_start + e.end - 1];
        (void)first;
        (void)last;
      }
    }
    if (covered != data_size) broken("tensors do not tile the data region");
  } catch (const sieve::core::UserError&) {
  }
  return 0;
}
