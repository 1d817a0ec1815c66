#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include "sieve/core/error.h"
#include "sieve/core/atomic_file.h"
#include "temp_dir.h"

namespace sieve::core {
namespace {

using testing::TempDir;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  write_file_atomically(path, text);
}

TEST(AtomicFile, WritesNewFileAndLeavesNoTemporary) {
  TempDir dir;
  write_text(dir / "a.txt", "hello");
  EXPECT_EQ(read_text(dir / "a.txt"), "hello");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"a.txt"});
}

TEST(AtomicFile, ReplacesExistingFile) {
  TempDir dir;
  write_text(dir / "a.txt", "old contents, longer than the new");
  write_text(dir / "a.txt", "new");
  EXPECT_EQ(read_text(dir / "a.txt"), "new");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"a.txt"});
}

TEST(AtomicFile, UncommittedWriterKeepsOldFileAndRemovesTemporary) {
  TempDir dir;
  write_text(dir / "a.txt", "old");
  EXPECT_THROW(
      {
        AtomicFileWriter writer(dir / "a.txt");
        writer.write(std::string_view("partial new conte"));
        throw std::runtime_error("writer failed");  // unwinding destroys the writer uncommitted
      },
      std::runtime_error);
  EXPECT_EQ(read_text(dir / "a.txt"), "old");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"a.txt"});
}

TEST(AtomicFile, UncommittedWriterWithNoOldFileLeavesNothing) {
  TempDir dir;
  { AtomicFileWriter writer(dir / "a.txt"); }
  EXPECT_TRUE(dir.entries().empty());
}

TEST(AtomicFile, WriteAtPatchesAHeader) {
  TempDir dir;
  AtomicFileWriter writer(dir / "h.bin");
  writer.write(std::string_view("xxxxpayload"));
  writer.write_at(0, std::as_bytes(std::span("HEAD", 4)));
  EXPECT_THROW(writer.write_at(8, std::as_bytes(std::span("TOOLONG", 7))), Error);
  writer.commit();
  EXPECT_EQ(read_text(dir / "h.bin"), "HEADpayload");
}

TEST(AtomicFile, MissingDirectoryIsUserErrorNamingPath) {
  TempDir dir;
  const auto target = dir / "no_such_dir" / "a.txt";
  try {
    write_text(target, "x");
    FAIL() << "expected UserError";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
  }
}

TEST(AtomicFile, DirectoryPathIsUserError) {
  TempDir dir;
  EXPECT_THROW(write_text(dir.path() / "", "x"), core::UserError);
  EXPECT_THROW(write_text(std::filesystem::path(), "x"), core::UserError);
}

TEST(AtomicFile, WritesBinaryBytes) {
  TempDir dir;
  const std::string payload("a\0b\xff", 4);
  write_file_atomically(dir / "b.bin", payload);
  EXPECT_EQ(read_text(dir / "b.bin"), payload);
  write_file_atomically(dir / "b.bin", "");
  EXPECT_EQ(read_text(dir / "b.bin"), "");
}

// A reader holding the old file keeps the old bytes: the new file is a new inode.
TEST(AtomicFile, OpenReaderKeepsOldContents) {
  TempDir dir;
  write_text(dir / "a.txt", "old");
  std::ifstream reader(dir / "a.txt", std::ios::binary);
  write_text(dir / "a.txt", "new");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(reader), {}), "old");
  EXPECT_EQ(read_text(dir / "a.txt"), "new");
}

}  // namespace
}  // namespace sieve::core
