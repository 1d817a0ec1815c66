#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "sieve/core/error.h"
#include "sieve/io/safetensors.h"
#include "temp_dir.h"

namespace sieve::io {
namespace {

using core::DType;
using core::Shape;
using core::Tensor;
using testing::TempDir;

// A tensor whose bytes follow a pattern, so any shuffled or shifted byte shows.
Tensor patterned(Shape shape, DType dtype, int seed) {
  Tensor t = Tensor::empty(std::move(shape), dtype);
  auto* bytes = static_cast<unsigned char*>(t.raw_data());
  for (std::size_t i = 0; i < t.nbytes(); ++i) bytes[i] = static_cast<unsigned char>(i * 37 + seed * 11 + 5);
  return t;
}

std::vector<unsigned char> bytes_of(const Tensor& t) {
  const Tensor c = t.contiguous();
  const auto* p = static_cast<const unsigned char*>(c.raw_data());
  return {p, p + c.nbytes()};
}

std::vector<std::byte> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars(std::istreambuf_iterator<char>(in), {});
  std::vector<std::byte> out(chars.size());
  if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

void write_file(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// A file from a header text and `data_bytes` bytes of data; `declared` overrides the length.
std::vector<std::byte> make_file(std::string_view header, std::size_t data_bytes,
                                 std::optional<std::uint64_t> declared = std::nullopt) {
  const std::uint64_t n = declared.value_or(header.size());
  std::vector<std::byte> out(8 + header.size() + data_bytes, std::byte{0});
  std::memcpy(out.data(), &n, 8);  // the test host is little-endian, like the format
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

// Expects parse_safetensors_header to reject `bytes` with a message naming the file and
// containing `what`.
void expect_rejected(std::span<const std::byte> bytes, const std::string& what) {
  try {
    parse_safetensors_header(bytes, "bad.safetensors");
    ADD_FAILURE() << "accepted a malformed file; expected an error about: " << what;
  } catch (const core::UserError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("bad.safetensors"), std::string::npos) << message;
    EXPECT_NE(message.find(what), std::string::npos) << "message: " << message << "\nexpected: " << what;
  }
}
void expect_rejected(std::string_view header, std::size_t data_bytes, const std::string& what) {
  expect_rejected(make_file(header, data_bytes), what);
}

// ---------------------------------------------------------------------------------------------
// Round trips

TEST(Safetensors, RoundTripsEveryDtypeAndShape) {
  TempDir dir;
  std::vector<std::pair<std::string, Tensor>> tensors = {
      {"f32", patterned({3, 5}, DType::f32, 1)},    {"bf16", patterned({7}, DType::bf16, 2)},
      {"f16", patterned({2, 3, 1}, DType::f16, 3)}, {"i8", patterned({9}, DType::i8, 4)},
      {"u8", patterned({1, 3}, DType::u8, 5)},      {"i32", patterned({4, 2}, DType::i32, 6)},
      {"i64", patterned({5}, DType::i64, 7)},       {"scalar", patterned({}, DType::f32, 8)},
      {"empty", patterned({0, 4}, DType::f16, 9)},  {"empty_i64", patterned({2, 0}, DType::i64, 10)},
  };
  // Non-contiguous input: a transposed view is written in its logical (row-major) order.
  const Tensor base = patterned({3, 4}, DType::f32, 11);
  tensors.emplace_back("transposed", base.transpose(0, 1));
  ASSERT_FALSE(tensors.back().second.is_contiguous());
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "ünïcode ✓"}};

  const auto path = dir / "all.safetensors";
  save_safetensors(path, tensors, metadata);
  const auto loaded = load_safetensors(path);
  ASSERT_EQ(loaded.size(), tensors.size());
  for (const auto& [name, original] : tensors) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(loaded.contains(name));
    const Tensor& t = loaded.at(name);
    EXPECT_EQ(t.dtype(), original.dtype());
    EXPECT_EQ(t.shape(), original.shape());
    EXPECT_TRUE(t.is_contiguous());
    EXPECT_EQ(bytes_of(t), bytes_of(original));
  }
  EXPECT_EQ(loaded.at("transposed").to_vector(), base.transpose(0, 1).contiguous().to_vector());

  const SafetensorsFile file(path);
  EXPECT_EQ(file.metadata(), metadata);
  EXPECT_EQ(file.header().data_start % 8, 0u);
  const std::vector<std::string> expected_names = {"bf16", "empty", "empty_i64", "f16",        "f32", "i32",
                                                   "i64",  "i8",    "scalar",    "transposed", "u8"};
  EXPECT_EQ(file.names(), expected_names);
  // Borrowed views see the same bytes, each aligned to its element size.
  for (const auto& [name, original] : tensors) {
    SCOPED_TRACE(name);
    const Tensor view = file.tensor(name);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(view.raw_data()) % core::dtype_size(view.dtype()), 0u);
    EXPECT_EQ(view.shape(), original.shape());
    EXPECT_EQ(bytes_of(view), bytes_of(original));
  }
}

TEST(Safetensors, HeaderLayoutIsLittleEndianPaddedJson) {
  TempDir dir;
  const auto path = dir / "one.safetensors";
  save_safetensors(path, {{"w", Tensor::from_vector<float>({1.0f, -2.0f, 3.5f}, {3})}});
  const auto bytes = read_file(path);
  ASSERT_GE(bytes.size(), 8u);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<std::uint64_t>(bytes[static_cast<std::size_t>(i)]);
  EXPECT_EQ((8 + n) % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + 12);
  const std::string header(reinterpret_cast<const char*>(bytes.data()) + 8, n);
  EXPECT_EQ(header.front(), '{');
  EXPECT_NE(header.find(R"("w":{"data_offsets":[0,12],"dtype":"F32","shape":[3]})"), std::string::npos) << header;
  float values[3];
  std::memcpy(values, bytes.data() + 8 + n, 12);
  EXPECT_EQ(values[0], 1.0f);
  EXPECT_EQ(values[1], -2.0f);
  EXPECT_EQ(values[2], 3.5f);
}

TEST(Safetensors, EmptyFileRoundTrips) {
  TempDir dir;
  save_safetensors(dir / "none.safetensors", {});
  EXPECT_TRUE(load_safetensors(dir / "none.safetensors").empty());
}

TEST(Safetensors, BorrowedTensorsOutliveTheFileObject) {
  TempDir dir;
  const auto path = dir / "w.safetensors";
  save_safetensors(path, {{"w", Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3})}});
  Tensor view;
  Tensor slice;
  {
    SafetensorsFile file(path);
    view = file.tensor("w");
    slice = view.slice(0, 1, 2);
  }
  // The mapping survives the SafetensorsFile and even the directory entry.
  std::filesystem::remove(path);
  EXPECT_EQ(view.to_vector(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  view = Tensor();
  EXPECT_EQ(slice.to_vector(), (std::vector<float>{4, 5, 6}));
}

TEST(Safetensors, WritingABorrowedViewNeverChangesTheFile) {
  TempDir dir;
  const auto path = dir / "w.safetensors";
  save_safetensors(path, {{"w", Tensor::from_vector<float>({1, 2}, {2})}});
  {
    SafetensorsFile file(path);
    Tensor view = file.tensor("w");
    view.data<float>()[0] = 42.0f;  // copy-on-write page: must not fault, must not reach the file
    EXPECT_EQ(view.to_vector(), (std::vector<float>{42, 2}));
  }
  EXPECT_EQ(SafetensorsFile(path).tensor("w").to_vector(), (std::vector<float>{1, 2}));
}

TEST(Safetensors, ReplacingAMappedFileKeepsOldViews) {
  TempDir dir;
  const auto path = dir / "w.safetensors";
  save_safetensors(path, {{"w", Tensor::from_vector<float>({1, 2}, {2})}});
  const Tensor old_view = SafetensorsFile(path).tensor("w");
  save_safetensors(path, {{"w", Tensor::from_vector<float>({7, 8, 9}, {3})}});
  EXPECT_EQ(old_view.to_vector(), (std::vector<float>{1, 2}));
  EXPECT_EQ(SafetensorsFile(path).tensor("w").to_vector(), (std::vector<float>{7, 8, 9}));
}

TEST(Safetensors, LoadCopyOwnsItsMemory) {
  TempDir dir;
  const auto path = dir / "w.safetensors";
  save_safetensors(path, {{"w", Tensor::from_vector<std::int32_t>({5, -6}, {2})}});
  SafetensorsFile file(path);
  Tensor copy = file.load_copy("w");
  copy.data<std::int32_t>()[0] = 0;
  EXPECT_EQ(file.tensor("w").data<std::int32_t>()[0], 5);
  EXPECT_EQ(file.tensor_bytes("w").size(), 8u);
}

// The format allows any offsets; a tensor misaligned for its type comes back as a copy.
TEST(Safetensors, MisalignedTensorIsCopied) {
  TempDir dir;
  const std::string header =
      R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}})";
  auto bytes = make_file(header, 5);
  const std::size_t data_start = 8 + header.size();
  bytes[data_start] = std::byte{7};
  const float value = 2.5f;
  std::memcpy(bytes.data() + data_start + 1, &value, 4);
  write_file(dir / "m.safetensors", bytes);
  SafetensorsFile file(dir / "m.safetensors");
  const Tensor b = file.tensor("b");
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.raw_data()) % 4, 0u);
  EXPECT_EQ(b.to_vector(), std::vector<float>{2.5f});
  EXPECT_EQ(file.tensor("a").data<std::uint8_t>()[0], 7);
}

TEST(Safetensors, MissingTensorNamesTensorAndFile) {
  TempDir dir;
  const auto path = dir / "w.safetensors";
  save_safetensors(path, {{"w", Tensor::zeros({1})}});
  SafetensorsFile file(path);
  EXPECT_TRUE(file.contains("w"));
  EXPECT_FALSE(file.contains("v"));
  for (auto call : {+[](const SafetensorsFile& f) { (void)f.tensor("v"); },
                    +[](const SafetensorsFile& f) { (void)f.load_copy("v"); }}) {
    try {
      call(file);
      ADD_FAILURE() << "expected UserError";
    } catch (const core::UserError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("'v'"), std::string::npos) << message;
      EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    }
  }
}

TEST(Safetensors, SaveRejectsBadNames) {
  TempDir dir;
  EXPECT_THROW(save_safetensors(dir / "x", {{"a", Tensor::zeros({1})}, {"a", Tensor::zeros({1})}}), core::Error);
  EXPECT_THROW(save_safetensors(dir / "x", {{"__metadata__", Tensor::zeros({1})}}), core::Error);
  EXPECT_THROW(save_safetensors(dir / "x", {{std::string("bad\xff", 4), Tensor::zeros({1})}}), core::UserError);
  EXPECT_TRUE(dir.entries().empty());
}

TEST(Safetensors, UnopenableFilesAreUserErrors) {
  TempDir dir;
  EXPECT_THROW(SafetensorsFile(dir / "missing.safetensors"), core::UserError);
  EXPECT_THROW(SafetensorsFile(dir.path()), core::UserError);
  write_file(dir / "empty.safetensors", {});
  EXPECT_THROW(SafetensorsFile(dir / "empty.safetensors"), core::UserError);
}

// ---------------------------------------------------------------------------------------------
// Malformed files

constexpr std::string_view kOneTensor = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

TEST(SafetensorsMalformed, ValidBaselineParses) {
  const auto header = parse_safetensors_header(make_file(kOneTensor, 8), "ok");
  ASSERT_EQ(header.entries.size(), 1u);
  EXPECT_EQ(header.entries[0].name, "w");
  EXPECT_EQ(header.entries[0].dtype, DType::f32);
  EXPECT_EQ(header.entries[0].shape, Shape{2});
  EXPECT_EQ(header.entries[0].end, 8u);
  EXPECT_EQ(header.data_start, 8 + kOneTensor.size());
}

TEST(SafetensorsMalformed, TruncatedFiles) {
  TempDir dir;
  const auto path = dir / "w.safetensors";
  save_safetensors(path, {{"w", Tensor::zeros({16})}});
  const auto full = read_file(path);
  const std::span<const std::byte> bytes(full);
  expect_rejected(bytes.first(5), "shorter than the 8-byte header length");
  expect_rejected(bytes.first(20), "larger than the");                            // cut in the header
  expect_rejected(bytes.first(full.size() - 1), "run past the end of the data");  // cut in the data
  // The same through the file API: the message names the path.
  write_file(dir / "cut.safetensors", bytes.first(full.size() - 4));
  try {
    SafetensorsFile file(dir / "cut.safetensors");
    ADD_FAILURE() << "opened a truncated file";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "cut.safetensors").string()), std::string::npos) << e.what();
  }
}

TEST(SafetensorsMalformed, HeaderLengths) {
  expect_rejected(make_file(kOneTensor, 8, 1000), "header length 1000 is larger than");
  expect_rejected(make_file(kOneTensor, 8, std::uint64_t{1} << 62), "limit");
  expect_rejected(make_file(kOneTensor, 8, 200'000'000), "limit");
  expect_rejected(make_file(kOneTensor, 8, ~std::uint64_t{0}), "limit");
}

TEST(SafetensorsMalformed, BadJson) {
  expect_rejected("{\"w\": ", 0, "bad header JSON");
  expect_rejected("not json", 0, "bad header JSON");
  expect_rejected("", 0, "bad header JSON");
  expect_rejected("{} trailing", 0, "bad header JSON");
  expect_rejected("[1, 2]", 0, "expected an object");
  expect_rejected(R"({"a":"\xff"})", 0, "bad header JSON");  // invalid UTF-8
  expect_rejected(
      R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})",
      8, "duplicate key 'w'");
  expect_rejected(R"({"w":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8,
                  "duplicate key 'dtype'");
  expect_rejected(R"({"w":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}})", 8, "nested deeper");
  expect_rejected(std::string(5000, '[') + std::string(5000, ']'), 0, "nested deeper");
}

TEST(SafetensorsMalformed, EntryStructure) {
  expect_rejected(R"({"w":[1,2]})", 0, "tensor 'w': expected an object");
  expect_rejected(R"({"w":{"dtype":"F32","shape":[2]}})", 8, "tensor 'w': missing 'data_offsets'");
  expect_rejected(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", 8, "missing 'dtype'");
  expect_rejected(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", 8, "missing 'shape'");
  expect_rejected(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}})", 8, "unknown key 'extra'");
}

TEST(SafetensorsMalformed, Dtypes) {
  expect_rejected(R"({"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", 8, "unsupported dtype 'F64'");
  expect_rejected(R"({"w":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}})", 8, "unsupported dtype 'f32'");
  expect_rejected(R"({"w":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", 8, "dtype must be a string");
}

TEST(SafetensorsMalformed, Shapes) {
  expect_rejected(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8, "non-negative integers");
  expect_rejected(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", 8, "non-negative integers");
  expect_rejected(R"({"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", 8, "non-negative integers");
  expect_rejected(R"({"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", 8, "shape must be an array");
  expect_rejected(R"({"w":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,8]}})", 8,
                  "non-negative integers");
  expect_rejected(R"({"w":{"dtype":"F32","shape":[99999999999999999999999],"data_offsets":[0,8]}})", 8,
                  "non-negative integers");
  // Huge extents: the element count overflows 64 bits, or the byte count does.
  expect_rejected(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8,
                  "overflows 64 bits");
  expect_rejected(R"({"w":{"dtype":"I64","shape":[4611686018427387904],"data_offsets":[0,8]}})", 8,
                  "too large to address");
  // Huge but representable: caught by the size check, nothing allocated.
  expect_rejected(R"({"w":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,8]}})", 8,
                  "needs 4000000000000");
  // A zero extent makes any other extent fine.
  EXPECT_NO_THROW(parse_safetensors_header(
      make_file(R"({"w":{"dtype":"F32","shape":[0,9223372036854775807],"data_offsets":[0,0]}})", 0), "ok"));
  // ... as long as the other extents multiply to a count that fits: the strides of an empty
  // tensor [0, 2^32, 2^32] would overflow.
  expect_rejected(R"({"w":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})", 0,
                  "overflows 64 bits");
  std::string deep = R"({"w":{"dtype":"U8","shape":[)";
  for (int i = 0; i < 65; ++i) deep += i == 0 ? "1" : ",1";
  expect_rejected(deep + R"(],"data_offsets":[0,1]}})", 1, "at most 64");
}

TEST(SafetensorsMalformed, Offsets) {
  expect_rejected(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", 16,
                  "hold 16 bytes, but shape [2]");
  expect_rejected(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4, "run past the end");
  expect_rejected(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}})", 8,
                  "two non-negative integers");
  expect_rejected(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8, "end before they begin");
  expect_rejected(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", 8, "two non-negative integers");
  expect_rejected(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}})", 8, "must be [begin, end]");
  expect_rejected(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":{"a":0}}})", 8, "must be [begin, end]");
}

TEST(SafetensorsMalformed, OverlapsHolesAndTrailingBytes) {
  expect_rejected(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
      12, "overlaps");
  expect_rejected(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
      8, "overlaps");
  expect_rejected(
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
      12, "bytes [4, 8) of the data region belong to no tensor");
  expect_rejected(kOneTensor, 9, "bytes [8, 9) of the data region belong to no tensor");
  expect_rejected("{}", 3, "bytes [0, 3)");
  // Empty tensors may sit between tensors, including at either end of the data...
  EXPECT_NO_THROW(parse_safetensors_header(
      make_file(
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},"z":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}})",
          8),
      "ok"));
  // ...but not inside another tensor (the reference implementation rejects that too).
  expect_rejected(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"U8","shape":[0],"data_offsets":[4,4]}})",
      8, "tensor 'z' (bytes [4, 4)) overlaps tensor 'a'");
}

TEST(SafetensorsMalformed, Metadata) {
  expect_rejected(R"({"__metadata__":{"format":1}})", 0, "__metadata__ 'format' must be a string");
  expect_rejected(R"({"__metadata__":{"a":{"b":"c"}}})", 0, "__metadata__ 'a' must be a string");
  expect_rejected(R"({"__metadata__":["a"]})", 0, "__metadata__ must be an object");
  const auto header = parse_safetensors_header(make_file(R"({"__metadata__":{"format":"pt"}}    )", 0), "ok");
  EXPECT_TRUE(header.entries.empty());
  EXPECT_EQ(header.metadata.at("format"), "pt");
}

TEST(SafetensorsMalformed, LongNamesAreShortenedInMessages) {
  const std::string name(100000, 'x');
  try {
    parse_safetensors_header(make_file("{\"" + name + "\":1}", 0), "bad.safetensors");
    FAIL() << "accepted";
  } catch (const core::UserError& e) {
    EXPECT_LT(std::string(e.what()).size(), 400u) << e.what();
  }
}

}  // namespace
}  // namespace sieve::io
