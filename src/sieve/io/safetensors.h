// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"key": "value", ...}}, then the data region. Offsets are relative to the
// data region, which the tensors must cover exactly: no overlaps, no holes, no trailing bytes
// (a file that hides other bytes in a gap could be read differently by another tool).
//
// Files are untrusted input: every problem is a core::UserError naming the file and what is
// wrong. Nothing is allocated from a declared size before it is checked against the file.
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

#include "sieve/core/dtype.h"
#include "sieve/core/tensor.h"

namespace sieve::io {

struct SafetensorsEntry {
  std::string name;
  core::DType dtype = core::DType::f32;
  core::Shape shape;
  std::uint64_t begin = 0;  // byte offsets into the data region, [begin, end)
  std::uint64_t end = 0;
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;  // in header (name) order
  std::map<std::string, std::string> metadata;
  std::uint64_t data_start = 0;  // file offset of the data region: 8 + N

  // The entry called `name`, or null.
  const SafetensorsEntry* find(std::string_view name) const;
};

// Header length limit (as in the reference implementation): a larger header is rejected
// before any JSON is parsed.
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// Parses and validates the header of a complete safetensors file held in `file_bytes`
// (only the first 8 + N bytes are read; the rest is used for its length). `source_name`
// names the file in error messages. Throws core::UserError on any malformed input.
SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file_bytes, std::string_view source_name);

// A safetensors file mapped into memory. tensor() views the mapping without copying; each
// view keeps the mapping alive, so views outlive the SafetensorsFile.
//
// The mapping is private copy-on-write: writing into a view changes this process's copy only,
// never the file. Replace files atomically (write_file_atomically) rather than rewriting them
// in place: truncating a file that is mapped makes reads of the lost pages fault (SIGBUS).
class SafetensorsFile {
 public:
  // Throws core::UserError if the file cannot be opened or is malformed.
  explicit SafetensorsFile(std::filesystem::path path);
  ~SafetensorsFile();
  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const SafetensorsHeader& header() const { return header_; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  bool contains(std::string_view name) const { return header_.find(name) != nullptr; }
  // Tensor names in header (sorted) order.
  std::vector<std::string> names() const;

  // A contiguous tensor that borrows the mapped bytes. If the bytes are not aligned to the
  // element size (legal in the format, though writers avoid it), this returns a copy instead,
  // because typed access to misaligned memory is undefined. Missing name → core::UserError.
  core::Tensor tensor(std::string_view name) const;
  // A copy in memory the tensor owns.
  core::Tensor load_copy(std::string_view name) const;
  // The raw little-endian bytes of one tensor.
  std::span<const std::byte> tensor_bytes(std::string_view name) const;

 private:
  struct Mapping;
  const SafetensorsEntry& entry(std::string_view name) const;

  std::filesystem::path path_;
  std::shared_ptr<Mapping> mapping_;
  SafetensorsHeader header_;
};

// Writes `tensors` (any layout; CPU) atomically to `path`. Names must be unique, non-empty
// and not "__metadata__". The header is padded with spaces so the data region starts on an
// 8-byte boundary, and the data is ordered by element size (largest first), then name, so
// every tensor is aligned to its element size and can be borrowed zero-copy.
void save_safetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, core::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads every tensor of a file into owned memory.
std::map<std::string, core::Tensor> load_safetensors(const std::filesystem::path& path);

}  // namespace sieve::io
