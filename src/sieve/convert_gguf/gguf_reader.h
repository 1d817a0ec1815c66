// Reading GGUF files (NOTE [GGUF layout] in gguf_types.h). Files are untrusted input: every
// count, length, shape and offset is checked against the bytes that remain in the file and
// against fixed limits before anything is allocated for it, and every problem is a
// core::UserError naming the file and what is wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sieve/convert_gguf/gguf_types.h"

namespace sieve::convert_gguf {

// The most elements one metadata array may hold (the largest vocabularies have ~256k tokens,
// llama.cpp's merge lists a few hundred thousand), and all arrays together.
inline constexpr std::uint64_t kMaxGgufArrayElements = std::uint64_t{1} << 24;
inline constexpr std::uint64_t kMaxGgufMetadataElements = std::uint64_t{1} << 25;
inline constexpr std::uint32_t kMaxGgufDims = 4;  // GGML_MAX_DIMS

struct GgufTensorInfo {
  std::string name;
  std::vector<std::int64_t> dims;  // ne: dims[0] innermost
  GgmlType type = GgmlType::f32;
  std::uint64_t offset = 0;  // from the start of the data section
  std::uint64_t bytes = 0;   // what the type and dims imply
  std::int64_t numel = 0;
};

struct GgufHeader {
  std::uint32_t version = kGgufVersion;
  std::vector<std::pair<std::string, GgufValue>> metadata;  // in file order
  std::vector<GgufTensorInfo> tensors;                      // in file order
  std::uint64_t alignment = kGgufDefaultAlignment;
  std::uint64_t data_start = 0;  // file offset of the data section

  // The value stored under `key`, or null.
  const GgufValue* find(std::string_view key) const;
  // The tensor called `name`, or null.
  const GgufTensorInfo* tensor(std::string_view name) const;

  std::map<std::string, std::size_t, std::less<>> key_index;     // key → metadata position
  std::map<std::string, std::size_t, std::less<>> tensor_index;  // name → tensors position
};

// Parses and validates the header of a complete GGUF file held in `file` (versions 2 and 3,
// which share the layout). `source` names the file in messages. Checked: the magic and version,
// every length against the bytes left, array sizes against the limits above, value and tensor
// types known, no duplicate key or tensor name, general.alignment a power of two, each tensor's
// dims in [1, 2^62] with dims[0] a whole number of blocks, and each tensor's bytes aligned,
// inside the data section and overlapping no other tensor.
GgufHeader parse_gguf(std::span<const std::byte> file, std::string_view source);

// A GGUF file mapped read-only into memory, its header parsed.
class GgufFile {
 public:
  // Throws core::UserError when the file cannot be opened or is malformed.
  explicit GgufFile(std::filesystem::path path);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const GgufHeader& header() const { return header_; }
  // The whole file.
  std::span<const std::byte> bytes() const { return std::span(data_, size_); }
  // The bytes of one tensor (it must be in the header).
  std::span<const std::byte> tensor_bytes(const GgufTensorInfo& tensor) const;

 private:
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  GgufHeader header_;
};

}  // namespace sieve::convert_gguf
