#include "sieve/data/array_file.h"

#include <bit>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

#include "sieve/core/atomic_file.h"
#include "sieve/core/checked_math.h"
#include "sieve/core/error.h"

namespace sieve::data {
namespace {

static_assert(std::endian::native == std::endian::little, "array files are written in host order");

constexpr std::string_view kArrayMagic = "SIEVEARR";
constexpr std::uint32_t kVersion = 1;
constexpr std::uint32_t kMaxRank = 8;
constexpr std::size_t kFixedHeaderBytes = 24;

template <typename T>
constexpr std::uint32_t dtype_code();
template <>
constexpr std::uint32_t dtype_code<std::uint8_t>() { return 1; }
template <>
constexpr std::uint32_t dtype_code<std::int32_t>() { return 2; }

const char* dtype_name(std::uint32_t code) {
  switch (code) {
    case 1: return "u8";
    case 2: return "i32";
    default: return "unknown";
  }
}

void append_u32(std::string& out, std::uint32_t value) { out.append(reinterpret_cast<const char*>(&value), 4); }
void append_u64(std::string& out, std::uint64_t value) { out.append(reinterpret_cast<const char*>(&value), 8); }

template <typename V>
V load_le(const char* at) {
  V value;
  std::memcpy(&value, at, sizeof(V));
  return value;
}

}  // namespace

template <typename T>
void write_array_file(const std::filesystem::path& path, std::span<const std::int64_t> shape,
                      std::span<const T> values) {
  SIEVE_CHECK(shape.size() <= kMaxRank, "rank {} > {}", shape.size(), kMaxRank);
  const auto numel = core::checked_numel(shape);
  SIEVE_CHECK(numel && *numel == static_cast<std::int64_t>(values.size()), "shape does not match {} values",
              values.size());
  std::string header(kArrayMagic);
  append_u32(header, kVersion);
  append_u32(header, dtype_code<T>());
  append_u32(header, static_cast<std::uint32_t>(shape.size()));
  append_u32(header, 0);
  for (const std::int64_t extent : shape) append_u64(header, static_cast<std::uint64_t>(extent));
  core::AtomicFileWriter writer(path);
  writer.write(header);
  writer.write(std::as_bytes(values));
  writer.commit();
}

template <typename T>
Array<T> read_array_file(const std::filesystem::path& path, int expected_rank) {
  const std::string name = path.string();
  std::error_code ec;
  SIEVE_USER_CHECK(std::filesystem::is_regular_file(path, ec), "array file '{}' is missing", name);
  const std::uint64_t file_size = std::filesystem::file_size(path, ec);
  SIEVE_USER_CHECK(!ec, "cannot read the size of '{}': {}", name, ec.message());
  std::ifstream in(path, std::ios::binary);
  SIEVE_USER_CHECK(in.is_open(), "cannot open array file '{}'", name);

  std::string fixed(kFixedHeaderBytes, '\0');
  in.read(fixed.data(), static_cast<std::streamsize>(fixed.size()));
  SIEVE_USER_CHECK(in.gcount() == static_cast<std::streamsize>(fixed.size()) && fixed.starts_with(kArrayMagic),
                   "'{}' is not a Sieve array file (expected the magic \"{}\" in a {}-byte header)", name, kArrayMagic,
                   kFixedHeaderBytes);
  const auto version = load_le<std::uint32_t>(fixed.data() + 8);
  const auto dtype = load_le<std::uint32_t>(fixed.data() + 12);
  const auto rank = load_le<std::uint32_t>(fixed.data() + 16);
  SIEVE_USER_CHECK(version == kVersion, "array file '{}' has format version {}, expected {}", name, version, kVersion);
  SIEVE_USER_CHECK(dtype == dtype_code<T>(), "array file '{}' holds {} elements, expected {}", name,
                   dtype_name(dtype), dtype_name(dtype_code<T>()));
  SIEVE_USER_CHECK(rank <= kMaxRank, "array file '{}' declares rank {}, more than {}", name, rank, kMaxRank);
  SIEVE_USER_CHECK(expected_rank < 0 || rank == static_cast<std::uint32_t>(expected_rank),
                   "array file '{}' has rank {}, expected {}", name, rank, expected_rank);

  Array<T> array;
  std::string extents(8 * std::size_t{rank}, '\0');
  in.read(extents.data(), static_cast<std::streamsize>(extents.size()));
  SIEVE_USER_CHECK(in.gcount() == static_cast<std::streamsize>(extents.size()),
                   "array file '{}' is truncated inside its header", name);
  for (std::uint32_t d = 0; d < rank; ++d) {
    const auto extent = load_le<std::uint64_t>(extents.data() + 8 * d);
    SIEVE_USER_CHECK(extent <= static_cast<std::uint64_t>(INT64_MAX), "array file '{}': extent {} is too large", name,
                     extent);
    array.shape.push_back(static_cast<std::int64_t>(extent));
  }
  const auto nbytes = core::checked_nbytes(array.shape, sizeof(T));
  const std::uint64_t header_bytes = kFixedHeaderBytes + extents.size();
  SIEVE_USER_CHECK(nbytes && static_cast<std::uint64_t>(*nbytes) == file_size - header_bytes,
                   "array file '{}' is {} bytes, but its header and shape need {} (truncated or damaged)", name,
                   file_size, nbytes ? std::to_string(header_bytes + *nbytes) : "more than 2^63");
  array.data.resize(static_cast<std::size_t>(*nbytes) / sizeof(T));
  in.read(reinterpret_cast<char*>(array.data.data()), *nbytes);
  SIEVE_USER_CHECK(in.gcount() == *nbytes, "error while reading array file '{}'", name);
  return array;
}

template void write_array_file<std::uint8_t>(const std::filesystem::path&, std::span<const std::int64_t>,
                                             std::span<const std::uint8_t>);
template void write_array_file<std::int32_t>(const std::filesystem::path&, std::span<const std::int64_t>,
                                             std::span<const std::int32_t>);
template Array<std::uint8_t> read_array_file<std::uint8_t>(const std::filesystem::path&, int);
template Array<std::int32_t> read_array_file<std::int32_t>(const std::filesystem::path&, int);

}  // namespace sieve::data
