// The seeds of the fuzz targets that read through data (tests/support/fuzz_seeds.h), loaded as
// the targets load them.
#include <gtest/gtest.h>

#include <string>

#include "data_test_util.h"
#include "fuzz_inputs.h"
#include "fuzz_seeds.h"
#include "sieve/data/idx_file.h"
#include "sieve/data/image_file.h"

namespace sieve::data {
namespace {

using sieve::testing::check_fuzz_seeds;
using testing::TempDir;
using testing::write_file;

TEST(FuzzCorpus, IdxSeeds) {
  check_fuzz_seeds("idx", [](const std::string& bytes, const std::string&) {
    TempDir dir;
    write_file(dir / "fuzz.idx", bytes);
    (void)read_idx_file(dir / "fuzz.idx", 0, fuzz::kDictdFuzzMaxTextBytes);
  });
}

TEST(FuzzCorpus, ImageSeeds) {
  check_fuzz_seeds("image", [](const std::string& bytes, const std::string&) {
    TempDir dir;
    write_file(dir / "fuzz.img", bytes);
    const GrayImage image = read_image_file(dir / "fuzz.img");
    EXPECT_EQ(decode_png(encode_png(image), "round trip").pixels, image.pixels);
  });
}

}  // namespace
}  // namespace sieve::data
