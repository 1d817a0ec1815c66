#include "sieve/data/gzip_file.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <new>
#include <string_view>

#include "sieve/core/error.h"

namespace sieve::data {
namespace {

bool has_gzip_magic(const std::string& bytes, std::size_t at) {
  return bytes.size() >= at + 2 && static_cast<unsigned char>(bytes[at]) == 0x1f &&
         static_cast<unsigned char>(bytes[at + 1]) == 0x8b;
}

// Frees the zlib state on every exit path.
struct InflateStream {
  z_stream zs{};
  InflateStream() {
    // 16 + MAX_WBITS: expect a gzip wrapper and check its CRC-32 and length trailer.
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
  }
  ~InflateStream() { inflateEnd(&zs); }
};

}  // namespace

std::string read_binary_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  std::error_code ec;
  SIEVE_USER_CHECK(std::filesystem::exists(path, ec), "file '{}' does not exist", path.string());
  SIEVE_USER_CHECK(!std::filesystem::is_directory(path, ec),
                   "'{}' is a directory (expected a file)", path.string());
  std::ifstream in(path, std::ios::binary);
  SIEVE_USER_CHECK(in.is_open(), "cannot open '{}': {}", path.string(), std::strerror(errno));
  const auto size = std::filesystem::file_size(path, ec);
  SIEVE_USER_CHECK(!ec, "cannot read the size of '{}': {}", path.string(), ec.message());
  SIEVE_USER_CHECK(size <= max_bytes, "'{}' has {} bytes, more than the {} a file read into memory may have",
                   path.string(), size, max_bytes);
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  SIEVE_USER_CHECK(!in.bad() && static_cast<std::uintmax_t>(in.gcount()) == size,
                   "error while reading '{}' (got {} of {} bytes)", path.string(), in.gcount(),
                   size);
  return bytes;
}

std::string read_gzip_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  const std::string compressed = read_binary_file(path);
  SIEVE_USER_CHECK(has_gzip_magic(compressed, 0),
                   "'{}' is not a gzip/dictzip file (expected the bytes 1f 8b at its start)",
                   path.string());
  // Room for one byte past the cap, so a file that inflates beyond it is told apart from one
  // that ends exactly there.
  std::string output;
  const std::uint64_t room = std::min<std::uint64_t>(max_bytes, output.max_size() - 1) + 1;

  // The trailer's ISIZE (length mod 2^32 of the last member) is a good first guess at the
  // output size; capped so a damaged trailer cannot ask for absurd memory.
  std::uint64_t size_hint = 0;
  if (compressed.size() >= 18) {
    std::uint32_t isize = 0;
    std::memcpy(&isize, compressed.data() + compressed.size() - 4, 4);
    size_hint = std::min<std::uint64_t>(isize, std::uint64_t{64} * compressed.size());
  }
  output.resize(std::min<std::uint64_t>(size_hint + (1u << 16), room));

  InflateStream stream;
  z_stream& zs = stream.zs;
  std::size_t in_pos = 0;   // bytes of `compressed` handed to zlib so far
  std::size_t out_pos = 0;  // bytes of `output` filled
  while (true) {
    if (zs.avail_in == 0 && in_pos < compressed.size()) {
      const std::size_t chunk =
          std::min<std::size_t>(compressed.size() - in_pos, std::numeric_limits<uInt>::max() / 2);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data() + in_pos));
      zs.avail_in = static_cast<uInt>(chunk);
      in_pos += chunk;
    }
    if (output.size() - out_pos < (1u << 16) && output.size() < room)
      output.resize(std::min<std::uint64_t>(output.size() * 2, room));
    zs.next_out = reinterpret_cast<Bytef*>(output.data() + out_pos);
    zs.avail_out = static_cast<uInt>(std::min<std::size_t>(output.size() - out_pos,
                                                           std::numeric_limits<uInt>::max() / 2));
    const uInt out_before = zs.avail_out;
    const int status = inflate(&zs, Z_NO_FLUSH);
    out_pos += out_before - zs.avail_out;
    SIEVE_USER_CHECK(out_pos <= max_bytes,
                     "'{}' decompresses to more than {} bytes, the most a file read into memory may hold "
                     "(a damaged file or a gzip bomb?)",
                     path.string(), max_bytes);

    if (status == Z_STREAM_END) {
      const std::size_t consumed = in_pos - zs.avail_in;
      if (consumed == compressed.size()) break;
      // Another member follows (concatenated gzip), or padding/garbage.
      if (has_gzip_magic(compressed, consumed)) {
        inflateReset(&zs);
        continue;
      }
      const std::string_view rest = std::string_view(compressed).substr(consumed);
      const bool zero_padding =
          std::all_of(rest.begin(), rest.end(), [](char c) { return c == 0; });
      SIEVE_USER_CHECK(zero_padding, "'{}' has {} bytes of unexpected data after the gzip stream",
                       path.string(), compressed.size() - consumed);
      break;
    }
    if (status == Z_BUF_ERROR && zs.avail_in == 0 && in_pos == compressed.size()) {
      core::throw_user_error(
          "'{}' is truncated: the gzip stream ends early (after {} decompressed bytes); the file "
          "is incomplete or damaged",
          path.string(), out_pos);
    }
    if (status == Z_DATA_ERROR || status == Z_NEED_DICT || status == Z_STREAM_ERROR) {
      core::throw_user_error("'{}' is corrupt: {} (after {} decompressed bytes)", path.string(),
                             zs.msg != nullptr ? zs.msg : "invalid compressed data", out_pos);
    }
    if (status == Z_MEM_ERROR) throw std::bad_alloc();
  }
  output.resize(out_pos);
  return output;
}

}  // namespace sieve::data
