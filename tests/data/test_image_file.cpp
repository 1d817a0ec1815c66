#include <gtest/gtest.h>

#include <string>

#include "data_test_util.h"
#include "sieve/core/error.h"
#include "sieve/data/image_file.h"

namespace sieve::data {
namespace {

using testing::TempDir;
using testing::write_file;

GrayImage gradient(std::int64_t width, std::int64_t height) {
  GrayImage image{width, height, {}};
  for (std::int64_t i = 0; i < width * height; ++i) image.pixels.push_back(static_cast<std::uint8_t>(i * 7 % 256));
  return image;
}

template <typename F>
std::string user_error(F f) {
  try {
    f();
  } catch (const core::UserError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a core::UserError";
  return {};
}

TEST(ImageFile, PgmAndPngRoundTrip) {
  TempDir dir;
  const GrayImage image = gradient(37, 11);
  for (const char* name : {"a.pgm", "a.png"}) {
    write_image_file(dir / name, image);
    const GrayImage back = read_image_file(dir / name);
    EXPECT_EQ(back.width, 37) << name;
    EXPECT_EQ(back.height, 11) << name;
    EXPECT_EQ(back.pixels, image.pixels) << name;
  }
  EXPECT_EQ(testing::read_file(dir / "a.png").substr(1, 3), "PNG");  // the format follows the extension
}

TEST(ImageFile, ReadsAsciiAnd16BitPgmWithComments) {
  const GrayImage ascii = decode_pgm("P2\n# a comment\n3 1\n# another\n15\n0 15 5\n", "a.pgm");
  EXPECT_EQ(ascii.pixels, (std::vector<std::uint8_t>{0, 255, 85}));
  std::string sixteen_bit = "P5 2 1 65535\n";
  sixteen_bit.append("\xFF\xFF\x80\x00", 4);
  const GrayImage sixteen = decode_pgm(sixteen_bit, "w.pgm");
  EXPECT_EQ(sixteen.pixels, (std::vector<std::uint8_t>{255, 128}));
}

// Tiny PNGs written byte by byte (Python's zlib and struct), each 2×1.
GrayImage decode_bytes(std::initializer_list<unsigned char> bytes, const char* name) {
  const std::string data(bytes.begin(), bytes.end());
  return decode_png(data, name);
}

TEST(ImageFile, ConvertsColourAlphaAnd16BitPngToGray) {
  // RGB: pure red, then mid gray (128, 128, 128).
  const GrayImage rgb = decode_bytes(
      {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
       0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x7b, 0x40, 0xe8, 0xdd, 0x00, 0x00, 0x00,
       0x0f, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xf8, 0xcf, 0xc0, 0xd0, 0xd0, 0xd0, 0x00, 0x00, 0x09, 0x01,
       0x02, 0x80, 0x20, 0xbf, 0xd5, 0x75, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82},
      "rgb.png");
  ASSERT_EQ(rgb.width, 2);
  ASSERT_EQ(rgb.height, 1);
  EXPECT_GT(rgb.pixels[0], 60);   // red is darker than white ...
  EXPECT_LT(rgb.pixels[0], 160);  // ... and brighter than black
  EXPECT_NEAR(rgb.pixels[1], 128, 1);  // a gray stays that gray
  // Gray + alpha: 200 fully transparent, then 200 opaque; composited onto black.
  const GrayImage alpha = decode_bytes(
      {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
       0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x08, 0x04, 0x00, 0x00, 0x00, 0x5e, 0x2b, 0xb7, 0x01, 0x00, 0x00, 0x00,
       0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x38, 0xc1, 0x70, 0xe2, 0x3f, 0x00, 0x05, 0xb4, 0x02, 0x90,
       0xf3, 0xd6, 0xdd, 0x8e, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82},
      "alpha.png");
  EXPECT_EQ(alpha.pixels, (std::vector<std::uint8_t>{0, 200}));
  // 16-bit gray: 0xFFFF and 0x8080.
  const GrayImage wide = decode_bytes(
      {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
       0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x10, 0x00, 0x00, 0x00, 0x00, 0x81, 0xd9, 0xfc, 0x15, 0x00, 0x00, 0x00,
       0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xf8, 0xff, 0xbf, 0xa1, 0x01, 0x00, 0x08, 0x7e, 0x02, 0xff,
       0x36, 0xd0, 0x23, 0x4f, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82},
      "wide.png");
  EXPECT_EQ(wide.pixels[0], 255);
  EXPECT_NEAR(wide.pixels[1], 128, 1);
}

TEST(ImageFile, RejectsBadFilesClearly) {
  TempDir dir;
  write_file(dir / "text.png", "hello");
  EXPECT_NE(user_error([&] { read_image_file(dir / "text.png"); }).find("neither a PNG nor a PGM"), std::string::npos);
  EXPECT_NE(user_error([&] { read_image_file(dir / "missing.png"); }).find("does not exist"), std::string::npos);
  EXPECT_NE(user_error([&] { decode_pgm("P5 4 4 255\n\x01\x02", "short.pgm"); }).find("truncated"), std::string::npos);
  EXPECT_NE(user_error([&] { decode_pgm("P5 0 4 255\n", "empty.pgm"); }).find("empty size"), std::string::npos);
  EXPECT_NE(user_error([&] { decode_pgm("P5 99999 2 255\n", "wide.pgm"); }).find("larger than"), std::string::npos);
  EXPECT_NE(user_error([&] { decode_pgm("P2 2 1 10\n3 11\n", "hot.pgm"); }).find("larger than 10"), std::string::npos);
  EXPECT_NE(user_error([&] { decode_pgm("P5 2 x", "junk.pgm"); }).find("height"), std::string::npos);

  std::string png = encode_png(gradient(8, 8));
  EXPECT_NE(user_error([&] { decode_png(png.substr(0, png.size() / 2), "cut.png"); }).find("cut.png"), std::string::npos);
  png[18] = '\x7F';  // the IHDR width's high byte: 2^30 + 8 pixels wide (and a bad CRC)
  const std::string message = user_error([&] { decode_png(png, "wide.png"); });
  EXPECT_NE(message.find("wide.png"), std::string::npos) << message;
}

}  // namespace
}  // namespace sieve::data
