// PGM (netpbm graymap) reading and writing: P5 (binary, 8- or 16-bit big-endian samples) and
// P2 (ASCII decimal samples). The header is the magic, then width, height and maxval as
// decimal numbers separated by whitespace, with '#' comments to the end of a line allowed
// between them; one whitespace byte separates it from a P5 raster.
#include <cctype>
#include <string>

#include "sieve/core/error.h"
#include "sieve/data/image_file.h"

namespace sieve::data {
namespace {

constexpr std::int64_t kMaxPgmValue = 65535;

class PgmScanner {
 public:
  PgmScanner(std::string_view bytes, std::string_view name) : bytes_(bytes), name_(name) {}

  // Skips whitespace and comments, then reads a decimal number no larger than `max`.
  std::int64_t number(std::string_view what, std::int64_t max) {
    skip_space_and_comments();
    SIEVE_USER_CHECK(pos_ < bytes_.size(), "PGM file '{}' ends before its {}", name_, what);
    SIEVE_USER_CHECK(std::isdigit(static_cast<unsigned char>(bytes_[pos_])),
                     "PGM file '{}': expected the {} (a decimal number) at byte {}, found byte 0x{:02x}", name_,
                     what, pos_, static_cast<unsigned char>(bytes_[pos_]));
    std::int64_t value = 0;
    while (pos_ < bytes_.size() && std::isdigit(static_cast<unsigned char>(bytes_[pos_]))) {
      value = value * 10 + (bytes_[pos_++] - '0');
      SIEVE_USER_CHECK(value <= max, "PGM file '{}': the {} is larger than {}", name_, what, max);
    }
    return value;
  }

  // The single whitespace byte that ends a P5 header.
  void header_end() {
    SIEVE_USER_CHECK(pos_ < bytes_.size() && std::isspace(static_cast<unsigned char>(bytes_[pos_])),
                     "PGM file '{}': expected one whitespace byte after the maxval", name_);
    ++pos_;
  }

  std::size_t position() const { return pos_; }
  void seek(std::size_t pos) { pos_ = pos; }

 private:
  void skip_space_and_comments() {
    while (pos_ < bytes_.size()) {
      const char c = bytes_[pos_];
      if (c == '#') {
        while (pos_ < bytes_.size() && bytes_[pos_] != '\n' && bytes_[pos_] != '\r') ++pos_;
      } else if (std::isspace(static_cast<unsigned char>(c))) {
        ++pos_;
      } else {
        return;
      }
    }
  }

  std::string_view bytes_;
  std::string_view name_;
  std::size_t pos_ = 0;
};

std::uint8_t to_8bit(std::int64_t value, std::int64_t maxval) {
  return static_cast<std::uint8_t>((value * 255 + maxval / 2) / maxval);
}

}  // namespace

GrayImage decode_pgm(std::string_view bytes, std::string_view name) {
  SIEVE_USER_CHECK(bytes.size() >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '2'),
                   "'{}' is not a PGM file (expected \"P5\" or \"P2\" at its start)", name);
  const bool binary = bytes[1] == '5';
  PgmScanner scanner(bytes, name);
  scanner.seek(2);
  GrayImage image;
  image.width = scanner.number("width", kMaxImageSide);
  image.height = scanner.number("height", kMaxImageSide);
  const std::int64_t maxval = scanner.number("maxval", kMaxPgmValue);
  SIEVE_USER_CHECK(image.width > 0 && image.height > 0, "PGM file '{}' has an empty size {}x{}", name, image.width,
                   image.height);
  SIEVE_USER_CHECK(maxval > 0, "PGM file '{}' has maxval 0 (expected 1 to {})", name, kMaxPgmValue);
  const std::int64_t count = image.width * image.height;  // <= 2^28: both sides are capped

  if (binary) {
    scanner.header_end();
    const std::int64_t sample_bytes = maxval > 255 ? 2 : 1;
    const std::size_t start = scanner.position();
    const auto available = static_cast<std::int64_t>(bytes.size() - start);
    SIEVE_USER_CHECK(available >= count * sample_bytes,
                     "PGM file '{}' is truncated: {}x{} pixels need {} bytes of raster, it has {}", name, image.width,
                     image.height, count * sample_bytes, available);
    image.pixels.resize(count);
    const auto* raster = reinterpret_cast<const std::uint8_t*>(bytes.data() + start);
    for (std::int64_t i = 0; i < count; ++i) {
      const std::int64_t value = sample_bytes == 2 ? (raster[2 * i] << 8) | raster[2 * i + 1] : raster[i];
      SIEVE_USER_CHECK(value <= maxval, "PGM file '{}': pixel {} is {}, above the maxval {}", name, i, value, maxval);
      image.pixels[i] = maxval == 255 ? static_cast<std::uint8_t>(value) : to_8bit(value, maxval);
    }
    return image;
  }
  // An ASCII sample takes at least two bytes (a digit and a separator), which bounds the count
  // by the file size before the pixels are allocated.
  SIEVE_USER_CHECK(count <= static_cast<std::int64_t>(bytes.size()),
                   "PGM file '{}' is truncated: {}x{} pixels cannot fit in its {} bytes", name, image.width,
                   image.height, bytes.size());
  image.pixels.resize(count);
  for (std::int64_t i = 0; i < count; ++i) {
    image.pixels[i] = to_8bit(scanner.number("pixel value", maxval), maxval);
  }
  return image;
}

std::string encode_pgm(const GrayImage& image) {
  SIEVE_CHECK(image.width > 0 && image.height > 0 &&
                  static_cast<std::int64_t>(image.pixels.size()) == image.width * image.height,
              "a {}x{} image with {} pixels", image.width, image.height, image.pixels.size());
  std::string out = "P5\n" + std::to_string(image.width) + " " + std::to_string(image.height) + "\n255\n";
  out.append(reinterpret_cast<const char*>(image.pixels.data()), image.pixels.size());
  return out;
}

}  // namespace sieve::data
