// The GGUF reader and writer: what the writer writes reads back the same (every value type,
// arrays, alignment, tensors), and malformed files — truncated anywhere, unknown types,
// inconsistent sizes and offsets — are clear UserErrors, never crashes or huge allocations.
#include <gtest/gtest.h>

#include <fstream>
#include <span>

#include "gguf_test_files.h"
#include "sieve/convert_gguf/gguf_blocks.h"
#include "sieve/convert_gguf/gguf_reader.h"
#include "sieve/core/error.h"

namespace sieve::convert_gguf {
namespace {

using testing::ByteBuilder;
using testing::gguf_start;
using testing::pad32;
using testing::put_tensor_info;

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::span<const std::byte> as_bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

// The message of the UserError parse_gguf throws for `bytes` (fails the test if none).
std::string parse_error(const std::string& bytes) {
  try {
    (void)parse_gguf(as_bytes(bytes), "test.gguf");
  } catch (const core::UserError& error) {
    return error.what();
  }
  ADD_FAILURE() << "accepted";
  return {};
}

std::string written_file(const GgufWriter& writer) {
  sieve::testing::TempDir dir;
  writer.write(dir / "m.gguf");
  return read_all(dir / "m.gguf");
}

GgufWriter sample_writer(std::uint32_t alignment = 0) {
  GgufWriter w;
  if (alignment != 0) w.set("general.alignment", GgufValue::u32(alignment));
  w.set("a.u8", {GgufValueType::u8, GgufValueType::u32, {std::uint64_t{200}}});
  w.set("a.i8", {GgufValueType::i8, GgufValueType::u32, {std::int64_t{-100}}});
  w.set("a.u16", {GgufValueType::u16, GgufValueType::u32, {std::uint64_t{60000}}});
  w.set("a.i16", {GgufValueType::i16, GgufValueType::u32, {std::int64_t{-30000}}});
  w.set("a.u32", GgufValue::u32(4000000000u));
  w.set("a.i32", GgufValue::i32(-2000000000));
  w.set("a.f32", GgufValue::f32(0.1f));
  w.set("a.bool", GgufValue::boolean(true));
  w.set("a.string", GgufValue::string("héllo"));
  w.set("a.u64", {GgufValueType::u64, GgufValueType::u32, {std::uint64_t{1} << 63}});
  w.set("a.i64", {GgufValueType::i64, GgufValueType::u32, {std::int64_t{-1} << 62}});
  w.set("a.f64", {GgufValueType::f64, GgufValueType::u32, {1e300}});
  w.set("a.strings", GgufValue::strings({"x", "", "▁y"}));
  w.set("a.f32s", GgufValue::f32s({1.5f, -2.0f}));
  w.set("a.i32s", GgufValue::i32s({}));
  const std::vector<float> values{1, 2, 3, 4, 5, 6};
  w.add_tensor("t.f32", {3, 2}, GgmlType::f32, encode_rows(GgmlType::f32, values.data(), 2, 3));
  std::vector<float> block(64, 0.25f);
  w.add_tensor("t.q8", {32, 2}, GgmlType::q8_0, encode_rows(GgmlType::q8_0, block.data(), 2, 32));
  return w;
}

TEST(GgufReader, ReadsBackEveryValueTypeAndTensor) {
  for (const std::uint32_t alignment : {0u, 64u}) {
    const std::string file = written_file(sample_writer(alignment));
    const GgufHeader h = parse_gguf(as_bytes(file), "m.gguf");
    EXPECT_EQ(h.version, 3u);
    EXPECT_EQ(h.alignment, alignment == 0 ? 32u : alignment);
    EXPECT_EQ(h.find("a.u8")->integer(), 200);
    EXPECT_EQ(h.find("a.i8")->integer(), -100);
    EXPECT_EQ(h.find("a.u16")->integer(), 60000);
    EXPECT_EQ(h.find("a.i16")->integer(), -30000);
    EXPECT_EQ(h.find("a.u32")->integer(), 4000000000LL);
    EXPECT_EQ(h.find("a.i32")->integer(), -2000000000);
    EXPECT_EQ(h.find("a.f32")->real(), static_cast<double>(0.1f));
    EXPECT_EQ(h.find("a.bool")->integer(), 1);
    EXPECT_EQ(*h.find("a.string")->text(), "héllo");
    EXPECT_EQ(std::get<std::uint64_t>(h.find("a.u64")->values[0]), std::uint64_t{1} << 63);
    EXPECT_FALSE(h.find("a.u64")->integer().has_value());  // beyond int64: not silently wrapped
    EXPECT_EQ(h.find("a.i64")->integer(), std::int64_t{-1} << 62);
    EXPECT_EQ(h.find("a.f64")->real(), 1e300);
    const GgufValue* strings = h.find("a.strings");
    ASSERT_EQ(strings->values.size(), 3u);
    EXPECT_EQ(*strings->text_at(2), "▁y");
    EXPECT_EQ(h.find("a.f32s")->real_at(1), -2.0);
    EXPECT_TRUE(h.find("a.i32s")->values.empty());
    EXPECT_EQ(h.find("missing"), nullptr);

    ASSERT_EQ(h.tensors.size(), 2u);
    const GgufTensorInfo* t = h.tensor("t.f32");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->dims, (std::vector<std::int64_t>{3, 2}));
    EXPECT_EQ(t->bytes, 24u);
    const GgufTensorInfo* q = h.tensor("t.q8");
    EXPECT_EQ(q->type, GgmlType::q8_0);
    EXPECT_EQ(q->bytes, 68u);
    EXPECT_EQ(q->offset % h.alignment, 0u);
    EXPECT_EQ(h.data_start % h.alignment, 0u);
    std::vector<float> decoded(6);
    decode_elements(GgmlType::f32, as_bytes(file).subspan(h.data_start + t->offset, t->bytes), 6, decoded.data());
    EXPECT_EQ(decoded, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  }
}

TEST(GgufReader, GgufFileMapsTensors) {
  sieve::testing::TempDir dir;
  sample_writer().write(dir / "m.gguf");
  const GgufFile file(dir / "m.gguf");
  const GgufTensorInfo* q = file.header().tensor("t.q8");
  std::vector<float> decoded(64);
  decode_elements(q->type, file.tensor_bytes(*q), 64, decoded.data());
  for (const float v : decoded) EXPECT_NEAR(v, 0.25f, 1e-3f);
  EXPECT_THROW(GgufFile(dir / "absent.gguf"), core::UserError);
}

// Every proper prefix of a valid file is refused with a UserError (and no crash under ASan).
TEST(GgufReader, EveryTruncationIsAUserError) {
  const std::string file = written_file(sample_writer());
  for (std::size_t size = 0; size < file.size(); ++size) {
    // A prefix that still holds every tensor byte may parse (the data is all there); the rest must not.
    try {
      const GgufHeader h = parse_gguf(as_bytes(file.substr(0, size)), "cut.gguf");
      for (const GgufTensorInfo& t : h.tensors) ASSERT_LE(h.data_start + t.offset + t.bytes, size);
    } catch (const core::UserError&) {
    }
  }
  // One byte short of the last tensor's end (the padding after it may go).
  const GgufHeader whole = parse_gguf(as_bytes(file), "m.gguf");
  const GgufTensorInfo& last = whole.tensors.back();
  EXPECT_NE(parse_error(file.substr(0, whole.data_start + last.offset + last.bytes - 1)).find("truncated"),
            std::string::npos);
  EXPECT_NE(parse_error(file.substr(0, 30)).find("truncated"), std::string::npos);
}

TEST(GgufReader, RefusesBadMagicAndVersion) {
  EXPECT_NE(parse_error("GGML").find("not a GGUF file"), std::string::npos);
  EXPECT_NE(parse_error("").find("not a GGUF file"), std::string::npos);
  EXPECT_NE(parse_error(gguf_start(0, 0, 1).bytes).find("version 1"), std::string::npos);
  EXPECT_NE(parse_error(gguf_start(0, 0, 4).bytes).find("version 4"), std::string::npos);
  EXPECT_NO_THROW(parse_gguf(as_bytes(gguf_start(0, 0).bytes), "empty.gguf"));
}

TEST(GgufReader, RefusesUnknownTypes) {
  ByteBuilder value = gguf_start(0, 1);
  value.str("k").put<std::uint32_t>(13).put<std::uint8_t>(0);
  EXPECT_NE(parse_error(value.bytes).find("unknown value type 13"), std::string::npos);

  ByteBuilder nested = gguf_start(0, 1);
  nested.str("k").put<std::uint32_t>(9).put<std::uint32_t>(9).put<std::uint64_t>(0);
  EXPECT_NE(parse_error(nested.bytes).find("arrays of arrays"), std::string::npos);

  for (const std::uint32_t type : {4u, 23u, 31u, 99u}) {  // removed, i-quants, repacked, nonsense
    ByteBuilder tensor = gguf_start(1, 0);
    put_tensor_info(tensor, "w", {32}, type, 0);
    pad32(tensor);
    tensor.bytes.append(4096, '\0');
    EXPECT_NE(parse_error(tensor.bytes).find("unknown or unsupported ggml type " + std::to_string(type)),
              std::string::npos);
  }
}

TEST(GgufReader, RefusesCountsTheFileCannotHold) {
  // Declared counts far beyond the bytes: refused before anything is reserved for them.
  EXPECT_NE(parse_error(gguf_start(0, std::uint64_t{1} << 60).bytes).find("metadata entries declared"),
            std::string::npos);
  EXPECT_NE(parse_error(gguf_start(std::uint64_t{1} << 60, 0).bytes).find("tensors declared"), std::string::npos);
  ByteBuilder array = gguf_start(0, 1);
  array.str("k").put<std::uint32_t>(9).put<std::uint32_t>(8).put<std::uint64_t>(std::uint64_t{1} << 61);
  EXPECT_NE(parse_error(array.bytes).find("declares"), std::string::npos);
  ByteBuilder string = gguf_start(0, 1);
  string.str("k").put<std::uint32_t>(8).put<std::uint64_t>(~std::uint64_t{0});
  EXPECT_NE(parse_error(string.bytes).find("truncated"), std::string::npos);
}

TEST(GgufReader, RefusesInconsistentMetadata) {
  ByteBuilder twice = gguf_start(0, 2);
  twice.str("k").put<std::uint32_t>(4).put<std::uint32_t>(1);
  twice.str("k").put<std::uint32_t>(4).put<std::uint32_t>(2);
  EXPECT_NE(parse_error(twice.bytes).find("appears twice"), std::string::npos);

  for (const std::uint32_t alignment : {0u, 3u, 48u}) {
    ByteBuilder bad = gguf_start(0, 1);
    bad.str("general.alignment").put<std::uint32_t>(4).put<std::uint32_t>(alignment);
    EXPECT_NE(parse_error(bad.bytes).find("power of two"), std::string::npos) << alignment;
  }
  ByteBuilder wrong_type = gguf_start(0, 1);
  wrong_type.str("general.alignment").put<std::uint32_t>(8).str("32");
  EXPECT_NE(parse_error(wrong_type.bytes).find("power of two"), std::string::npos);
}

// A file with two f32 tensors of 8 elements (32 bytes each) at the given offsets and data size.
std::string two_tensors(std::uint64_t first, std::uint64_t second, std::size_t data_bytes,
                        std::vector<std::uint64_t> second_dims = {8}, std::uint32_t second_type = 0) {
  ByteBuilder b = gguf_start(2, 0);
  put_tensor_info(b, "a", {8}, 0, first);
  put_tensor_info(b, "b", second_dims, second_type, second);
  pad32(b);
  b.bytes.append(data_bytes, '\0');
  return b.bytes;
}

TEST(GgufReader, RefusesBadTensorPlacement) {
  EXPECT_NO_THROW(parse_gguf(as_bytes(two_tensors(0, 32, 64)), "ok.gguf"));
  EXPECT_NE(parse_error(two_tensors(0, 0, 64)).find("overlap"), std::string::npos);
  EXPECT_NE(parse_error(two_tensors(0, 64, 64)).find("ends past"), std::string::npos);
  EXPECT_NE(parse_error(two_tensors(0, ~std::uint64_t{0} - 31, 64)).find("ends past"), std::string::npos);
  EXPECT_NE(parse_error(two_tensors(0, 40, 96)).find("not a multiple of the alignment"), std::string::npos);
  EXPECT_NE(parse_error(two_tensors(0, 32, 64, {0})).find("dimension 0 of 0"), std::string::npos);
  EXPECT_NE(parse_error(two_tensors(0, 32, 64, {1, 1, 1, 1, 1})).find("5 dimensions"), std::string::npos);
  // q8_0 rows must be whole 32-element blocks.
  EXPECT_NE(parse_error(two_tensors(0, 32, 96, {16}, 8)).find("whole number of 32-element blocks"), std::string::npos);
  // Element counts that overflow are refused, not wrapped.
  EXPECT_NE(parse_error(two_tensors(0, 32, 64, {std::uint64_t{1} << 40, std::uint64_t{1} << 40})).find("too"),
            std::string::npos);
  ByteBuilder same_name = gguf_start(2, 0);
  put_tensor_info(same_name, "a", {8}, 0, 0);
  put_tensor_info(same_name, "a", {8}, 0, 32);
  pad32(same_name);
  same_name.bytes.append(64, '\0');
  EXPECT_NE(parse_error(same_name.bytes).find("appears twice"), std::string::npos);
}

}  // namespace
}  // namespace sieve::convert_gguf
