// Zip archives through libzip: the container of PyTorch checkpoints (torch.save since 1.6).
// Archives are untrusted input: every problem is a core::UserError naming the archive and the
// record, and no record is read into memory before its size is checked against a limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct zip;
struct zip_source;

namespace sieve::convert_torch {

class ZipReader {
 public:
  // Opens a file, or bytes in memory that must outlive the reader. `source_name` names the
  // archive in messages. Not a zip, or a zip whose directory is inconsistent → UserError.
  static ZipReader open_file(const std::filesystem::path& path);
  static ZipReader open_bytes(std::span<const std::byte> bytes, std::string source_name);
  ~ZipReader();
  ZipReader(ZipReader&&) noexcept;
  ZipReader& operator=(ZipReader&&) noexcept;

  const std::string& source_name() const { return source_name_; }
  // Record names in the archive's order.
  const std::vector<std::string>& names() const { return names_; }
  // The uncompressed size of a record, or nullopt if the archive has no such record.
  std::optional<std::uint64_t> size_of(std::string_view name) const;
  // Reads a whole record into `out` (its exact size). A record whose data is shorter than its
  // directory says, whose checksum fails, or that cannot be decompressed → UserError.
  void read_into(std::string_view name, std::span<std::byte> out) const;
  // Reads a whole record of at most `max_bytes`; a larger one → UserError naming `what`.
  std::string read_text(std::string_view name, std::uint64_t max_bytes, std::string_view what) const;

 private:
  ZipReader(zip* archive, std::string source_name);
  std::uint64_t index_of(std::string_view name) const;

  struct Closer {
    void operator()(zip* archive) const;
  };
  std::unique_ptr<zip, Closer> archive_;
  std::string source_name_;
  std::vector<std::string> names_;
};

// Writes a zip whose records are stored uncompressed with each record's data starting on a
// multiple of kRecordAlignment bytes, as torch.save does (so a reader may map them). The file
// appears at `path` only when finish() succeeds (libzip writes a temporary file and renames it).
class ZipWriter {
 public:
  static constexpr std::uint64_t kRecordAlignment = 64;

  explicit ZipWriter(const std::filesystem::path& path);
  ~ZipWriter();
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  // Adds a record that borrows `bytes`: they must stay valid until finish() returns.
  void add_borrowed(const std::string& name, std::span<const std::byte> bytes);
  // Adds a record holding a copy of `text`.
  void add_copy(const std::string& name, std::string text);
  // Writes the archive. Errors (disk full, permissions) → UserError naming the file.
  void finish();

 private:
  std::filesystem::path path_;
  zip* archive_ = nullptr;
  std::uint64_t offset_ = 0;        // where the next record's local header starts
  std::deque<std::string> copies_;  // the bytes of add_copy records, alive until finish()
};

}  // namespace sieve::convert_torch
