// 8-bit grayscale images from and to files: PGM (binary P5 and ASCII P2) and PNG (libpng).
//
// Reading converts to 8-bit gray: PGM samples with a maxval other than 255 (including 16-bit
// P5) are rescaled to 0..255 with rounding; PNG colour is converted to luma by libpng's
// simplified API, 16-bit samples are rescaled to 8 bits like PGM's, and an alpha channel is
// composited onto black (the background of Fashion-MNIST's items). Width and height are checked against
// kMaxImageSide before any pixel memory is allocated.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace sieve::data {

// Large enough for any photo a user would give the model; small enough that a forged header
// cannot make the reader allocate more than 256 MiB.
inline constexpr std::int64_t kMaxImageSide = 16384;

struct GrayImage {
  std::int64_t width = 0;
  std::int64_t height = 0;
  std::vector<std::uint8_t> pixels;  // height * width, row-major, top row first

  std::uint8_t at(std::int64_t row, std::int64_t column) const { return pixels[row * width + column]; }
};

// The file's format is taken from its first bytes ("P5"/"P2", or the PNG signature), not from
// its name. Throws core::UserError naming the file for a missing file, an unknown format, a
// malformed or truncated image, or one larger than kMaxImageSide on a side.
GrayImage read_image_file(const std::filesystem::path& path);

// Decoders for bytes already in memory; `name` names the source in errors.
GrayImage decode_pgm(std::string_view bytes, std::string_view name);
GrayImage decode_png(std::string_view bytes, std::string_view name);

// Encoders: binary PGM (P5, maxval 255) and 8-bit gray PNG. The image's pixel count must match
// its size (a caller's bug otherwise, reported by SIEVE_CHECK).
std::string encode_pgm(const GrayImage& image);
std::string encode_png(const GrayImage& image);

// Writes the image atomically, as PNG when the path ends in ".png" and PGM otherwise.
void write_image_file(const std::filesystem::path& path, const GrayImage& image);

}  // namespace sieve::data
