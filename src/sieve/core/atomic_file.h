// Atomic file replacement: write to a temporary file in the destination directory, fsync it,
// rename it over the destination, then fsync the directory. A reader (or a crash) sees either
// the old file or the complete new one, never a torn write.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

namespace sieve::core {

// Streams bytes into a temporary sibling of `destination`; commit() publishes it. If the writer
// is destroyed without commit() (an exception, an interrupted run), the temporary is removed and
// `destination` is untouched. Failures to create or write the file throw core::UserError naming
// the path (the usual causes are a missing directory, permissions or a full disk).
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::filesystem::path destination);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(std::span<const std::byte> bytes);
  void write(std::string_view text);
  // Overwrites bytes already written at `offset` (e.g. a header whose counts are known only at
  // the end). The range must lie within what has been written.
  void write_at(std::uint64_t offset, std::span<const std::byte> bytes);
  std::uint64_t bytes_written() const { return size_; }

  void commit();

  const std::filesystem::path& destination() const { return destination_; }

 private:
  std::filesystem::path destination_;
  std::filesystem::path temporary_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

// Convenience: the whole content at once.
void write_file_atomically(const std::filesystem::path& destination, std::string_view content);

}  // namespace sieve::core
