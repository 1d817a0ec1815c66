// Whole-file gzip decompression (RFC 1952), including dictzip files — dictzip is gzip with an
// extra header field that plain inflate skips. Used for dictd's .dict.dz.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace sieve::data {

// The most a file read whole into memory may hold (decompressed): dictd dictionaries are tens
// of MB, and a gzip bomb (a few MB that inflate to terabytes) must stop at a limit, not at the
// end of memory.
inline constexpr std::uint64_t kMaxInMemoryFileBytes = std::uint64_t{1} << 30;

// Returns the decompressed content of every gzip member in `path`. Throws core::UserError
// naming the file if it is missing, not gzip, truncated, fails its CRC/length check, or
// decompresses to more than `max_bytes` (found while inflating: at most max_bytes + 1 bytes
// are ever held).
std::string read_gzip_file(const std::filesystem::path& path, std::uint64_t max_bytes = kMaxInMemoryFileBytes);

// The file's bytes as they are (no decompression), with the same error reporting.
std::string read_binary_file(const std::filesystem::path& path, std::uint64_t max_bytes = kMaxInMemoryFileBytes);

}  // namespace sieve::data
