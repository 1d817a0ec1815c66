#include "sieve/core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "sieve/core/error.h"

namespace sieve::core {
namespace {

std::string errno_text() { return std::strerror(errno); }

void write_all(int fd, const std::byte* data, std::size_t size, std::uint64_t offset,
               const std::filesystem::path& path) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_user_error("cannot write '{}': {}", path.string(), errno_text());
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::filesystem::path destination)
    : destination_(std::move(destination)) {
  const std::filesystem::path directory =
      destination_.has_parent_path() ? destination_.parent_path() : std::filesystem::path(".");
  // mkstemp gives a unique name, so two writers of the same destination cannot collide.
  std::string name = ".";
  name += destination_.filename().string();
  name += ".tmp-XXXXXX";
  std::string pattern = (directory / name).string();
  fd_ = ::mkstemp(pattern.data());
  if (fd_ < 0) {
    throw_user_error("cannot create a file in '{}' (for '{}'): {}", directory.string(),
                           destination_.string(), errno_text());
  }
  temporary_ = pattern;
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    std::error_code ignored;
    std::filesystem::remove(temporary_, ignored);
  }
}

void AtomicFileWriter::write(std::span<const std::byte> bytes) {
  SIEVE_CHECK(fd_ >= 0, "write after commit of '{}'", destination_.string());
  write_all(fd_, bytes.data(), bytes.size(), size_, temporary_);
  size_ += bytes.size();
}

void AtomicFileWriter::write(std::string_view text) {
  write(std::as_bytes(std::span<const char>(text.data(), text.size())));
}

void AtomicFileWriter::write_at(std::uint64_t offset, std::span<const std::byte> bytes) {
  SIEVE_CHECK(fd_ >= 0, "write after commit of '{}'", destination_.string());
  SIEVE_CHECK(offset + bytes.size() <= size_, "write_at [{}, {}) past the written size {}", offset,
              offset + bytes.size(), size_);
  write_all(fd_, bytes.data(), bytes.size(), offset, temporary_);
}

void AtomicFileWriter::commit() {
  SIEVE_CHECK(fd_ >= 0, "double commit of '{}'", destination_.string());
  // mkstemp creates 0600; published files get the usual 0644. (Reading the umask would need
  // umask(), which is process-global and racy.)
  ::fchmod(fd_, 0644);
  if (::fsync(fd_) != 0) {
    throw_user_error("cannot flush '{}' to disk: {}", temporary_.string(), errno_text());
  }
  ::close(fd_);
  fd_ = -1;
  if (::rename(temporary_.c_str(), destination_.c_str()) != 0) {
    const std::string reason = errno_text();
    std::error_code ignored;
    std::filesystem::remove(temporary_, ignored);
    throw_user_error("cannot move '{}' into place as '{}': {}", temporary_.string(),
                           destination_.string(), reason);
  }
  // Make the rename itself durable.
  const std::filesystem::path directory =
      destination_.has_parent_path() ? destination_.parent_path() : std::filesystem::path(".");
  const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void write_file_atomically(const std::filesystem::path& destination, std::string_view content) {
  AtomicFileWriter writer(destination);
  writer.write(content);
  writer.commit();
}

}  // namespace sieve::core
