// Builds a directory under a temporary name beside its destination and renames it into place
// when complete, so a reader (or a crash) sees the old directory or the finished new one, never
// a half-written one.
#pragma once

#include <filesystem>

namespace sieve::data {

class StagingDir {
 public:
  // Checks `destination` before any work: it may be missing or an empty directory; a non-empty
  // directory only with `replace`; anything else (a file, say) is refused. Then creates the
  // staging directory ".<name>.building-XXXXXX" beside it. Throws core::UserError naming the
  // path and what to do.
  StagingDir(std::filesystem::path destination, bool replace);
  // Removes the staging directory unless publish() ran.
  ~StagingDir();
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;

  const std::filesystem::path& path() const { return staging_; }
  // Moves the staging directory to the destination (an existing one is renamed aside first,
  // then removed).
  void publish();

 private:
  std::filesystem::path destination_;
  std::filesystem::path staging_;
  bool replace_ = false;
  bool published_ = false;
};

}  // namespace sieve::data
