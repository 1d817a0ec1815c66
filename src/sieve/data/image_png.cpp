// PNG reading and writing through libpng's simplified API (png_image), which does the colour,
// bit-depth, palette and alpha conversions and reports errors as a message instead of a
// longjmp through our frames.
#include <png.h>

#include <cstring>
#include <string>
#include <vector>

#include "sieve/core/error.h"
#include "sieve/data/image_file.h"

namespace sieve::data {
namespace {

// Releases libpng's state on every exit path (png_image_free is a no-op after finish_read).
struct PngImage {
  png_image image;
  PngImage() {
    std::memset(&image, 0, sizeof(image));
    image.version = PNG_IMAGE_VERSION;
  }
  ~PngImage() { png_image_free(&image); }
};

}  // namespace

GrayImage decode_png(std::string_view bytes, std::string_view name) {
  SIEVE_USER_CHECK(bytes.size() >= 8 && png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) == 0,
                   "'{}' is not a PNG file (its first 8 bytes are not the PNG signature)", name);
  PngImage png;
  SIEVE_USER_CHECK(png_image_begin_read_from_memory(&png.image, bytes.data(), bytes.size()) != 0,
                   "cannot read PNG file '{}': {}", name, png.image.message);
  SIEVE_USER_CHECK(png.image.width > 0 && png.image.height > 0 && png.image.width <= kMaxImageSide &&
                       png.image.height <= kMaxImageSide,
                   "PNG file '{}' is {}x{}, outside the supported 1..{} pixels a side", name, png.image.width,
                   png.image.height, kMaxImageSide);
  GrayImage image;
  image.width = png.image.width;
  image.height = png.image.height;
  const auto count = static_cast<std::size_t>(image.width * image.height);
  const auto stride = static_cast<png_int_32>(image.width);
  if ((png.image.format & PNG_FORMAT_FLAG_LINEAR) != 0) {
    // 16-bit samples: libpng's 8-bit output would treat them as linear light and gamma-encode
    // them (0x8080 -> 187); read them as they are (colour to luma, alpha onto black) and keep
    // the top 8 bits with rounding, as the PGM reader does.
    png.image.format = PNG_FORMAT_LINEAR_Y;
    std::vector<std::uint16_t> wide(count, 0);
    SIEVE_USER_CHECK(png_image_finish_read(&png.image, nullptr, wide.data(), stride, nullptr) != 0,
                     "cannot decode PNG file '{}': {}", name, png.image.message);
    image.pixels.resize(count);
    for (std::size_t i = 0; i < count; ++i)
      image.pixels[i] = static_cast<std::uint8_t>((std::uint32_t{wide[i]} * 255 + 32767) / 65535);
    return image;
  }
  png.image.format = PNG_FORMAT_GRAY;
  // Zero-filled: an alpha channel is composited onto what the buffer holds, black.
  image.pixels.assign(count, 0);
  SIEVE_USER_CHECK(png_image_finish_read(&png.image, nullptr, image.pixels.data(), stride, nullptr) != 0,
                   "cannot decode PNG file '{}': {}", name, png.image.message);
  return image;
}

std::string encode_png(const GrayImage& image) {
  SIEVE_CHECK(image.width > 0 && image.height > 0 && image.width <= kMaxImageSide && image.height <= kMaxImageSide &&
                  static_cast<std::int64_t>(image.pixels.size()) == image.width * image.height,
              "a {}x{} image with {} pixels", image.width, image.height, image.pixels.size());
  PngImage png;
  png.image.width = static_cast<png_uint_32>(image.width);
  png.image.height = static_cast<png_uint_32>(image.height);
  png.image.format = PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  const auto stride = static_cast<png_int_32>(image.width);
  SIEVE_CHECK(png_image_write_to_memory(&png.image, nullptr, &size, 0, image.pixels.data(), stride, nullptr) != 0,
              "libpng cannot size the PNG: {}", png.image.message);
  std::string out(size, '\0');
  SIEVE_CHECK(png_image_write_to_memory(&png.image, out.data(), &size, 0, image.pixels.data(), stride, nullptr) != 0,
              "libpng cannot encode the PNG: {}", png.image.message);
  out.resize(size);
  return out;
}

}  // namespace sieve::data
