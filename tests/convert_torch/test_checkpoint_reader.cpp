// Damaged and foreign checkpoints: truncated archives, corrupt data, storage records of the
// wrong size, the legacy format, archives that are not state dicts — each a clear UserError,
// never a crash or a wrong tensor.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "sieve/convert_torch/checkpoint_reader.h"
#include "sieve/convert_torch/checkpoint_writer.h"
#include "sieve/convert_torch/state_dict_pickler.h"
#include "sieve/convert_torch/zip_archive.h"
#include "sieve/core/error.h"
#include "temp_dir.h"

namespace sieve::convert_torch {
namespace {

namespace fs = std::filesystem;
using sieve::testing::TempDir;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Opens the checkpoint and loads every tensor; the UserError's message, or "" if all loads.
std::string load_everything(const fs::path& path) {
  try {
    const TorchCheckpoint checkpoint = TorchCheckpoint::open_file(path);
    for (const PickledTensor& tensor : checkpoint.tensors()) (void)checkpoint.load_f32(tensor);
  } catch (const core::UserError& e) {
    return e.what();
  }
  return "";
}

// A valid checkpoint of two tensors with known values.
void write_valid(const fs::path& path) {
  core::Tensor a = core::Tensor::empty({64, 40});
  for (std::int64_t i = 0; i < a.numel(); ++i) a.data<float>()[i] = static_cast<float>(i) * 0.5f;
  save_torch_checkpoint(path, {{"a", a}, {"b", core::Tensor::full({3}, 2.0)}});
}

// A checkpoint written record by record: data.pkl from `entries`, then `records`.
void write_archive(const fs::path& path, const std::vector<StateDictEntry>& entries,
                   const std::vector<std::pair<std::string, std::string>>& records) {
  ZipWriter zip(path);
  zip.add_copy("archive/data.pkl", pickle_state_dict(entries));
  for (const auto& [name, bytes] : records) zip.add_copy(name, bytes);
  zip.finish();
}

TEST(CheckpointReader, ReadsValuesBack) {
  TempDir dir;
  write_valid(dir / "ok.bin");
  const TorchCheckpoint checkpoint = TorchCheckpoint::open_file(dir / "ok.bin");
  ASSERT_EQ(checkpoint.tensors().size(), 2u);
  const core::Tensor a = checkpoint.load_f32(checkpoint.tensors()[0]);
  EXPECT_EQ(a.shape(), (core::Shape{64, 40}));
  EXPECT_EQ(a.data<float>()[2559], 1279.5f);
  EXPECT_EQ(checkpoint.load_f32(checkpoint.tensors()[1]).to_vector(), (std::vector<float>{2, 2, 2}));
}

TEST(CheckpointReader, TruncatedArchives) {
  TempDir dir;
  write_valid(dir / "ok.bin");
  const std::string bytes = read_file(dir / "ok.bin");
  for (const std::size_t length : {std::size_t{0}, std::size_t{10}, bytes.size() / 3, bytes.size() / 2,
                                   bytes.size() - 30, bytes.size() - 1}) {
    SCOPED_TRACE(length);
    write_file(dir / "cut.bin", bytes.substr(0, length));
    EXPECT_NE(load_everything(dir / "cut.bin"), "");
  }
}

TEST(CheckpointReader, CorruptDataFailsItsChecksum) {
  TempDir dir;
  write_valid(dir / "ok.bin");
  std::string bytes = read_file(dir / "ok.bin");
  bytes[bytes.size() / 2] ^= 0x40;  // inside tensor a's 10 KB of data
  write_file(dir / "bad.bin", bytes);
  EXPECT_NE(load_everything(dir / "bad.bin").find("record 'archive/data/0' is corrupt"), std::string::npos)
      << load_everything(dir / "bad.bin");
}

TEST(CheckpointReader, StorageRecordsMustHoldTheirDeclaredSize) {
  TempDir dir;
  const std::vector<StateDictEntry> entries{{"w", "0", TorchDType::f32, {4}}};
  write_archive(dir / "short.bin", entries, {{"archive/data/0", std::string(12, '\0')}});
  EXPECT_NE(load_everything(dir / "short.bin")
                .find("record 'archive/data/0' holds 12 bytes, but the state dict declares 4 float32 values (16 bytes)"),
            std::string::npos)
      << load_everything(dir / "short.bin");
  write_archive(dir / "missing.bin", entries, {});
  EXPECT_NE(load_everything(dir / "missing.bin").find("no record 'archive/data/0'"), std::string::npos);
}

TEST(CheckpointReader, NonFloatTensorsAndForeignByteOrder) {
  TempDir dir;
  write_archive(dir / "int.bin", {{"step", "0", TorchDType::i64, {}}}, {{"archive/data/0", std::string(8, '\0')}});
  EXPECT_NE(load_everything(dir / "int.bin").find("tensor 'step' holds int64 values"), std::string::npos);
  write_archive(dir / "big.bin", {}, {{"archive/byteorder", "big"}});
  EXPECT_NE(load_everything(dir / "big.bin").find("byte order 'big'"), std::string::npos);
}

TEST(CheckpointReader, ForeignFiles) {
  TempDir dir;
  // torch.save(..., _use_new_zipfile_serialization=False) starts with this pickled magic number.
  write_file(dir / "legacy.bin", std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15));
  EXPECT_NE(load_everything(dir / "legacy.bin").find("PyTorch's legacy format"), std::string::npos);
  write_file(dir / "text.bin", "not a checkpoint");
  EXPECT_NE(load_everything(dir / "text.bin").find("cannot open as a zip archive"), std::string::npos);
  {
    ZipWriter zip(dir / "other.zip");
    zip.add_copy("readme.txt", "hello");
    zip.finish();
  }
  EXPECT_NE(load_everything(dir / "other.zip").find("without <folder>/data.pkl"), std::string::npos);
  EXPECT_NE(load_everything(dir / "absent.bin").find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace sieve::convert_torch
