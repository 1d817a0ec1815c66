#include "sieve/data/line_reader.h"

#include <cerrno>
#include <cstring>

#include "sieve/core/error.h"

namespace sieve::data {

LineReader::LineReader(std::filesystem::path path) : path_(std::move(path)) {
  std::error_code ec;
  const auto status = std::filesystem::status(path_, ec);
  SIEVE_USER_CHECK(std::filesystem::exists(status), "corpus file '{}' does not exist",
                   path_.string());
  SIEVE_USER_CHECK(!std::filesystem::is_directory(status),
                   "corpus path '{}' is a directory (expected a text file)", path_.string());
  in_.open(path_, std::ios::binary);
  SIEVE_USER_CHECK(in_.is_open(), "cannot open corpus file '{}': {}", path_.string(),
                   std::strerror(errno));
  if (std::filesystem::is_regular_file(status)) total_ = std::filesystem::file_size(path_, ec);
}

bool LineReader::next(std::string& line) {
  if (!std::getline(in_, line)) {
    SIEVE_USER_CHECK(!in_.bad(), "error while reading corpus file '{}'", path_.string());
    return false;
  }
  consumed_ += line.size() + 1;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return true;
}

}  // namespace sieve::data
