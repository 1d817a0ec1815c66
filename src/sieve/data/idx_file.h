// IDX files, the format of the MNIST family (Fashion-MNIST in Debian's dataset-fashion-mnist):
// a 4-byte magic — two zero bytes, a type code, the number of dimensions — then each dimension
// as a big-endian u32, then the elements in row-major order. Only the unsigned-byte type (code
// 0x08) is read: labels are 0x00000801 (one dimension), images 0x00000803 (count, rows, columns).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "sieve/data/gzip_file.h"

namespace sieve::data {

struct IdxArray {
  std::vector<std::uint32_t> dims;  // as stored, outermost first
  std::vector<std::uint8_t> data;   // product(dims) elements, row-major
};

// Parses the bytes of an IDX file (already decompressed). `name` names the file in errors.
// Checks the magic, that there are 1..4 dimensions, and that the element count implied by the
// dimensions matches the bytes that follow exactly — before allocating anything for them.
// When `expected_dims` is not 0 the file must have that many dimensions. Throws
// core::UserError naming the file and what was wrong.
IdxArray parse_idx(std::string_view bytes, std::string_view name, int expected_dims = 0);

// Reads an IDX file, gzip-compressed (the bytes 1f 8b at its start, as Debian ships them) or
// plain, decompressing at most `max_bytes`.
IdxArray read_idx_file(const std::filesystem::path& path, int expected_dims = 0,
                       std::uint64_t max_bytes = kMaxInMemoryFileBytes);

}  // namespace sieve::data
