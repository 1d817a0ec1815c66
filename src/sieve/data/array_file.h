// Array files: one little-endian array per file behind a small header, so a reader can check
// the shape against the file's size before allocating anything.
//
//   bytes 0..7    magic "SIEVEARR"
//   bytes 8..11   u32 format version (1)
//   bytes 12..15  u32 dtype code: 1 = u8, 2 = i32
//   bytes 16..19  u32 rank (0..8)
//   bytes 20..23  u32 zero (reserved)
//   then          rank × u64 extents, outermost first
//   then          the elements, row-major, little-endian
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace sieve::data {

template <typename T>
struct Array {
  std::vector<std::int64_t> shape;
  std::vector<T> data;  // product(shape) elements
};

// Writes atomically. T is std::uint8_t or std::int32_t; shape's product must equal values.size().
template <typename T>
void write_array_file(const std::filesystem::path& path, std::span<const std::int64_t> shape,
                      std::span<const T> values);

// Reads an array of element type T. Throws core::UserError naming the file when it is missing,
// has the wrong magic, version or dtype, a rank other than `expected_rank` (when >= 0), or a
// size that does not match its header exactly (checked before the elements are allocated).
template <typename T>
Array<T> read_array_file(const std::filesystem::path& path, int expected_rank = -1);

}  // namespace sieve::data
