// libFuzzer target: an image file (data::read_image_file) — PGM (P5/P2) or PNG, told apart by
// its first bytes, as `sieve infer --image` reads it.
//
// A core::UserError is the expected answer to a bad file; anything else (another exception, a
// sanitizer report, an accepted image whose pixel count differs from its size, or one that does
// not survive a PNG and a PGM round trip unchanged) is a bug and crashes the run.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_inputs.h"
#include "sieve/core/error.h"
#include "sieve/data/image_file.h"

namespace fz = sieve::fuzz;
namespace data = sieve::data;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(bytes), size);
  const std::filesystem::path file = fz::scratch_dir() / "fuzz.img";
  fz::put_file(file, input);
  data::GrayImage image;
  try {
    image = data::read_image_file(file);
  } catch (const sieve::core::UserError&) {
    return 0;
  }
  if (image.width < 1 || image.height < 1 || image.width > data::kMaxImageSide || image.height > data::kMaxImageSide)
    fz::broken("an accepted image outside the size limits");
  if (static_cast<std::int64_t>(image.pixels.size()) != image.width * image.height)
    fz::broken("an accepted image whose pixel count differs from its size");
  if (data::decode_png(data::encode_png(image), "round trip").pixels != image.pixels)
    fz::broken("a PNG round trip changed the pixels");
  if (data::decode_pgm(data::encode_pgm(image), "round trip").pixels != image.pixels)
    fz::broken("a PGM round trip changed the pixels");
  return 0;
}
