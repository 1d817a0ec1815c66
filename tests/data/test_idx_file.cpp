#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "data_test_util.h"
#include "sieve/core/error.h"
#include "sieve/data/idx_file.h"

namespace sieve::data {
namespace {

using testing::TempDir;
using testing::write_file;

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// An IDX file of unsigned bytes with `dims`, holding 0, 1, 2, ... (mod 256).
std::string idx_bytes(std::vector<std::uint32_t> dims) {
  std::string bytes = std::string("\0\0\x08", 3) + static_cast<char>(dims.size());
  std::uint64_t count = 1;
  for (const auto d : dims) {
    bytes += be32(d);
    count *= d;
  }
  for (std::uint64_t i = 0; i < count; ++i) bytes += static_cast<char>(i % 256);
  return bytes;
}

void write_gzip(const std::filesystem::path& path, std::string_view content) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, content.data(), static_cast<unsigned>(content.size())), static_cast<int>(content.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

// The message of the core::UserError `f` throws (fails the test if it throws nothing).
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

TEST(IdxFile, ReadsGzipImagesAndPlainLabels) {
  TempDir dir;
  write_gzip(dir / "images.gz", idx_bytes({3, 2, 4}));
  write_file(dir / "labels", idx_bytes({3}));
  const IdxArray images = read_idx_file(dir / "images.gz", 3);
  EXPECT_EQ(images.dims, (std::vector<std::uint32_t>{3, 2, 4}));
  ASSERT_EQ(images.data.size(), 24u);
  EXPECT_EQ(images.data[23], 23);
  const IdxArray labels = read_idx_file(dir / "labels", 1);
  EXPECT_EQ(labels.data, (std::vector<std::uint8_t>{0, 1, 2}));
}

TEST(IdxFile, ReadsDebiansFashionMnist) {
  const std::filesystem::path dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const IdxArray labels = read_idx_file(dir / "t10k-labels-idx1-ubyte.gz", 1);
  const IdxArray images = read_idx_file(dir / "t10k-images-idx3-ubyte.gz", 3);
  EXPECT_EQ(labels.dims, (std::vector<std::uint32_t>{10000}));
  EXPECT_EQ(images.dims, (std::vector<std::uint32_t>{10000, 28, 28}));
  EXPECT_EQ(labels.data[0], 9);  // the test set's first item is an ankle boot
}

TEST(IdxFile, RejectsBadMagicTypeAndRank) {
  std::string bytes = idx_bytes({2});
  bytes[0] = 1;
  EXPECT_NE(user_error([&] { parse_idx(bytes, "x.idx"); }).find("not an IDX file"), std::string::npos);
  bytes = idx_bytes({2});
  bytes[2] = 0x0D;  // float
  EXPECT_NE(user_error([&] { parse_idx(bytes, "x.idx"); }).find("only unsigned bytes"), std::string::npos);
  bytes = idx_bytes({2});
  bytes[3] = 0;
  EXPECT_NE(user_error([&] { parse_idx(bytes, "x.idx"); }).find("0 dimensions"), std::string::npos);
  const std::string message = user_error([&] { parse_idx(idx_bytes({2, 2}), "labels.idx", 1); });
  EXPECT_NE(message.find("labels.idx"), std::string::npos) << message;
  EXPECT_NE(message.find("expected 1"), std::string::npos) << message;
}

TEST(IdxFile, RejectsTruncatedAndOversizedPayloads) {
  const std::string bytes = idx_bytes({4, 3});
  EXPECT_NE(user_error([&] { parse_idx(bytes.substr(0, bytes.size() - 1), "t"); }).find("truncated"), std::string::npos);
  EXPECT_NE(user_error([&] { parse_idx(bytes + "x", "t"); }).find("trailing"), std::string::npos);
  EXPECT_NE(user_error([&] { parse_idx(bytes.substr(0, 6), "t"); }).find("inside its header"), std::string::npos);
  // Dimensions claiming 2^32 × 2^32 × 2^32 elements fail on the size check, before any allocation.
  const std::string huge = std::string("\0\0\x08\x03", 4) + be32(0xFFFFFFFF) + be32(0xFFFFFFFF) + be32(0xFFFFFFFF);
  EXPECT_NO_FATAL_FAILURE(user_error([&] { parse_idx(huge, "huge"); }));
}

TEST(IdxFile, RejectsATruncatedGzipFileNamingIt) {
  TempDir dir;
  write_gzip(dir / "full.gz", idx_bytes({100, 28}));
  const std::string gz = testing::read_file(dir / "full.gz");
  write_file(dir / "cut.gz", gz.substr(0, gz.size() / 2));
  const std::string message = user_error([&] { read_idx_file(dir / "cut.gz"); });
  EXPECT_NE(message.find("cut.gz"), std::string::npos) << message;
}

}  // namespace
}  // namespace sieve::data
