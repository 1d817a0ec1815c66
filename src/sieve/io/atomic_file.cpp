#include "sieve/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <string>
#include <system_error>

#include "sieve/core/error.h"

namespace sieve::io {
namespace {

std::string errno_message() { return std::error_code(errno, std::generic_category()).message(); }

// fsync by path: std::ofstream does not expose its descriptor. fsync through a second
// descriptor flushes the same inode's dirty pages.
void fsync_path(const std::filesystem::path& path, int flags, const std::filesystem::path& target) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0)
    core::throw_user_error("cannot write {}: opening {} to sync it failed: {}", target.string(), path.string(),
                           errno_message());
  int rc;
  do {
    rc = ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  const int sync_errno = errno;
  ::close(fd);
  // EINVAL: the file system cannot sync this kind of file (some do not sync directories);
  // there is nothing more durable we could do, so it is not an error.
  if (rc != 0 && sync_errno != EINVAL)
    core::throw_user_error("cannot write {}: fsync of {} failed: {}", target.string(), path.string(),
                           std::error_code(sync_errno, std::generic_category()).message());
}

std::filesystem::path temporary_path_for(const std::filesystem::path& path) {
  // pid keeps processes apart; the counter keeps threads of one process apart.
  static std::atomic<std::uint64_t> counter{0};
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  return tmp;
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& writer) {
  SIEVE_USER_CHECK(!path.empty(), "cannot write a file with an empty path");
  SIEVE_USER_CHECK(path.has_filename(), "cannot write {}: the path names a directory, not a file", path.string());
  const std::filesystem::path tmp = temporary_path_for(path);
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";

  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out)
        core::throw_user_error("cannot write {}: cannot create {}: {}", path.string(), tmp.string(),
                               errno_message());
      writer(out);
      out.flush();
      if (!out)
        core::throw_user_error("cannot write {}: writing {} failed (disk full?)", path.string(), tmp.string());
      out.close();
      if (!out) core::throw_user_error("cannot write {}: closing {} failed", path.string(), tmp.string());
    }
    fsync_path(tmp, O_WRONLY, path);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      core::throw_user_error("cannot write {}: renaming {} over it failed: {}", path.string(), tmp.string(),
                             errno_message());
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
  // The new file is in place; this makes the rename durable.
  fsync_path(dir, O_RDONLY | O_DIRECTORY, path);
}

void write_bytes_atomically(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  write_file_atomically(path, [bytes](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  });
}

}  // namespace sieve::io
