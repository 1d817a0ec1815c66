// Small GGUF files built in memory for the reader's tests: a valid one, and byte-level edits of it.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "sieve/convert_gguf/gguf_writer.h"
#include "temp_dir.h"

namespace sieve::convert_gguf::testing {

// Appends little-endian values, for hand-made (often broken) files.
struct ByteBuilder {
  std::string bytes;
  template <typename T>
  ByteBuilder& put(T value) {
    bytes.append(reinterpret_cast<const char*>(&value), sizeof(T));
    return *this;
  }
  ByteBuilder& str(const std::string& text) {
    put<std::uint64_t>(text.size());
    bytes += text;
    return *this;
  }
};

// The header of a file with `tensors` tensors and `kvs` metadata entries, up to the entries.
inline ByteBuilder gguf_start(std::uint64_t tensors, std::uint64_t kvs, std::uint32_t version = 3) {
  ByteBuilder b;
  b.put<std::uint32_t>(0x46554747).put<std::uint32_t>(version).put<std::uint64_t>(tensors).put<std::uint64_t>(kvs);
  return b;
}

// One tensor info entry.
inline void put_tensor_info(ByteBuilder& b, const std::string& name, std::vector<std::uint64_t> dims,
                            std::uint32_t type, std::uint64_t offset) {
  b.str(name).put<std::uint32_t>(static_cast<std::uint32_t>(dims.size()));
  for (const auto d : dims) b.put<std::uint64_t>(d);
  b.put<std::uint32_t>(type).put<std::uint64_t>(offset);
}

// Pads to the default alignment of 32.
inline void pad32(ByteBuilder& b) {
  while (b.bytes.size() % 32 != 0) b.bytes.push_back('\0');
}

}  // namespace sieve::convert_gguf::testing
