// Writing GGUF files (NOTE [GGUF layout] in gguf_types.h): metadata and tensors are collected,
// then written in one pass, atomically. Tensors are laid out in the order they were added, each
// at the next multiple of the alignment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "sieve/convert_gguf/gguf_types.h"

namespace sieve::convert_gguf {

class GgufWriter {
 public:
  // Sets (or replaces) a metadata value; keys keep the order they were first set in.
  void set(const std::string& key, GgufValue value);
  // Adds a tensor: `dims` as GGUF orders them (dims[0] innermost), `data` its encoded blocks
  // (encode_rows in gguf_blocks.h), whose size must match the type and dims.
  void add_tensor(std::string name, std::vector<std::int64_t> dims, GgmlType type, std::vector<std::byte> data);
  // Writes the file atomically (temp + rename).
  void write(const std::filesystem::path& path) const;

 private:
  struct Tensor {
    std::string name;
    std::vector<std::int64_t> dims;
    GgmlType type;
    std::vector<std::byte> data;
  };
  std::uint64_t alignment() const;

  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<Tensor> tensors_;
};

}  // namespace sieve::convert_gguf
