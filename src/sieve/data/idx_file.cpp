#include "sieve/data/idx_file.h"

#include <string>

#include "sieve/core/checked_math.h"
#include "sieve/core/error.h"

namespace sieve::data {
namespace {

constexpr std::uint8_t kUnsignedByteType = 0x08;
constexpr int kMaxDims = 4;

std::uint32_t read_be32(std::string_view bytes, std::size_t at) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<std::uint8_t>(bytes[at + i]);
  return value;
}

bool starts_with_gzip_magic(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<std::uint8_t>(bytes[0]) == 0x1f &&
         static_cast<std::uint8_t>(bytes[1]) == 0x8b;
}

}  // namespace

IdxArray parse_idx(std::string_view bytes, std::string_view name, int expected_dims) {
  SIEVE_USER_CHECK(bytes.size() >= 4, "IDX file '{}' is {} bytes long, too short for its 4-byte magic", name,
                   bytes.size());
  const auto b0 = static_cast<std::uint8_t>(bytes[0]);
  const auto b1 = static_cast<std::uint8_t>(bytes[1]);
  const auto type = static_cast<std::uint8_t>(bytes[2]);
  const int ndims = static_cast<std::uint8_t>(bytes[3]);
  SIEVE_USER_CHECK(b0 == 0 && b1 == 0,
                   "'{}' is not an IDX file: its magic starts with {:02x} {:02x}, expected 00 00", name, b0, b1);
  SIEVE_USER_CHECK(type == kUnsignedByteType,
                   "IDX file '{}' has element type 0x{:02x}; only unsigned bytes (0x08) are read", name, type);
  SIEVE_USER_CHECK(ndims >= 1 && ndims <= kMaxDims, "IDX file '{}' declares {} dimensions, expected 1 to {}", name,
                   ndims, kMaxDims);
  SIEVE_USER_CHECK(expected_dims == 0 || ndims == expected_dims,
                   "IDX file '{}' has {} dimensions (magic 0x{:08x}), expected {} (magic 0x{:08x})", name, ndims,
                   read_be32(bytes, 0), expected_dims, (std::uint32_t{kUnsignedByteType} << 8) | expected_dims);
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(ndims);
  SIEVE_USER_CHECK(bytes.size() >= header, "IDX file '{}' is truncated inside its header ({} of {} bytes)", name,
                   bytes.size(), header);

  IdxArray array;
  array.dims.reserve(ndims);
  std::uint64_t count = 1;
  for (int d = 0; d < ndims; ++d) {
    const std::uint32_t extent = read_be32(bytes, 4 + 4 * static_cast<std::size_t>(d));
    array.dims.push_back(extent);
    const auto product = core::checked_mul<std::uint64_t>(count, extent);
    SIEVE_USER_CHECK(product.has_value(), "IDX file '{}' declares dimensions whose product overflows", name);
    count = *product;
  }
  const std::uint64_t payload = bytes.size() - header;
  SIEVE_USER_CHECK(payload == count,
                   "IDX file '{}' declares {} elements but holds {} bytes of data ({})", name, count, payload,
                   payload < count ? "truncated" : "trailing bytes");
  array.data.assign(reinterpret_cast<const std::uint8_t*>(bytes.data()) + header,
                    reinterpret_cast<const std::uint8_t*>(bytes.data()) + bytes.size());
  return array;
}

IdxArray read_idx_file(const std::filesystem::path& path, int expected_dims, std::uint64_t max_bytes) {
  std::string bytes = read_binary_file(path, max_bytes);
  if (starts_with_gzip_magic(bytes)) bytes = read_gzip_file(path, max_bytes);
  return parse_idx(bytes, path.string(), expected_dims);
}

}  // namespace sieve::data
