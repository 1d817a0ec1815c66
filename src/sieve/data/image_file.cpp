#include "sieve/data/image_file.h"

#include "sieve/core/atomic_file.h"
#include "sieve/core/error.h"
#include "sieve/data/gzip_file.h"

namespace sieve::data {
namespace {

// A 16-bit PGM at the largest size, plus its header: no valid image file is larger.
constexpr std::uint64_t kMaxImageFileBytes = 2 * kMaxImageSide * kMaxImageSide + 4096;

}  // namespace

GrayImage read_image_file(const std::filesystem::path& path) {
  const std::string bytes = read_binary_file(path, kMaxImageFileBytes);
  const std::string name = path.string();
  if (bytes.size() >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '2')) return decode_pgm(bytes, name);
  if (bytes.size() >= 4 && static_cast<unsigned char>(bytes[0]) == 0x89 && bytes.compare(1, 3, "PNG") == 0)
    return decode_png(bytes, name);
  core::throw_user_error("'{}' is neither a PNG nor a PGM (P5/P2) image", name);
}

void write_image_file(const std::filesystem::path& path, const GrayImage& image) {
  const std::string bytes = path.extension() == ".png" ? encode_png(image) : encode_pgm(image);
  core::write_file_atomically(path, bytes);
}

}  // namespace sieve::data
