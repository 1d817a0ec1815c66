#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include "sieve/core/error.h"
#include "sieve/io/atomic_file.h"
#include "temp_dir.h"

namespace sieve::io {
namespace {

using testing::TempDir;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  write_file_atomically(path, [&](std::ostream& out) { out << text; });
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

TEST(AtomicFile, WriterExceptionKeepsOldFileAndRemovesTemporary) {
  TempDir dir;
  write_text(dir / "a.txt", "old");
  EXPECT_THROW(write_file_atomically(dir / "a.txt",
                                     [](std::ostream& out) {
                                       out << "partial new conte";
                                       throw std::runtime_error("writer failed");
                                     }),
               std::runtime_error);
  EXPECT_EQ(read_text(dir / "a.txt"), "old");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"a.txt"});
}

TEST(AtomicFile, WriterExceptionWithNoOldFileLeavesNothing) {
  TempDir dir;
  EXPECT_THROW(write_file_atomically(dir / "a.txt", [](std::ostream&) { throw std::logic_error("no"); }),
               std::logic_error);
  EXPECT_TRUE(dir.entries().empty());
}

TEST(AtomicFile, FailedStreamIsAnError) {
  TempDir dir;
  write_text(dir / "a.txt", "old");
  try {
    write_file_atomically(dir / "a.txt", [](std::ostream& out) {
      out << "x";
      out.setstate(std::ios::badbit);  // what a full disk does to the stream
    });
    FAIL() << "expected UserError";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("a.txt"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_text(dir / "a.txt"), "old");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"a.txt"});
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

TEST(AtomicFile, WriteBytes) {
  TempDir dir;
  const std::string payload("a\0b\xff", 4);
  write_bytes_atomically(dir / "b.bin", std::as_bytes(std::span(payload.data(), payload.size())));
  EXPECT_EQ(read_text(dir / "b.bin"), payload);
  write_bytes_atomically(dir / "b.bin", {});
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
}  // namespace sieve::io
