// Line-by-line reading of a text file with clear errors, shared by the line-based corpus
// readers and tokenizer training.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace sieve::data {

class LineReader {
 public:
  // Throws core::UserError if `path` is missing, a directory, or cannot be opened.
  explicit LineReader(std::filesystem::path path);

  // Reads the next line without its terminator ("\n" or "\r\n"); false at end of file. Throws
  // core::UserError on a read error.
  bool next(std::string& line);

  const std::filesystem::path& path() const { return path_; }
  std::uint64_t bytes_consumed() const { return consumed_; }
  std::uint64_t bytes_total() const { return total_; }

 private:
  std::filesystem::path path_;
  std::ifstream in_;
  std::uint64_t consumed_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace sieve::data
