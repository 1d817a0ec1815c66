// Whole-file gzip decompression (RFC 1952), including dictzip files — dictzip is gzip with an
// extra header field that plain inflate skips. Used for dictd's .dict.dz.
#pragma once

#include <filesystem>
#include <string>

namespace sieve::data {

// Returns the decompressed content of every gzip member in `path`. Throws core::UserError
// naming the file if it is missing, not gzip, truncated, or fails its CRC/length check.
std::string read_gzip_file(const std::filesystem::path& path);

// The file's bytes as they are (no decompression), with the same error reporting.
std::string read_binary_file(const std::filesystem::path& path);

}  // namespace sieve::data
