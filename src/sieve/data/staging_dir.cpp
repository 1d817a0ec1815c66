#include "sieve/data/staging_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "sieve/core/error.h"

namespace sieve::data {
namespace {

bool is_empty_directory(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_directory(path, ec) && std::filesystem::is_empty(path, ec);
}

std::filesystem::path make_sibling_dir(const std::filesystem::path& destination, const std::string& tag) {
  std::string pattern = (destination.parent_path() / ("." + destination.filename().string() + tag + "-XXXXXX")).string();
  SIEVE_USER_CHECK(::mkdtemp(pattern.data()) != nullptr, "cannot create a directory beside '{}': {}",
                   destination.string(), std::strerror(errno));
  // mkdtemp makes it private (0700); the finished directory gets the usual 0755.
  std::error_code ec;
  std::filesystem::permissions(pattern, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                            std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                            std::filesystem::perms::others_exec, ec);
  return pattern;
}

}  // namespace

StagingDir::StagingDir(std::filesystem::path destination, bool replace)
    : destination_(std::filesystem::absolute(std::move(destination)).lexically_normal()), replace_(replace) {
  if (!destination_.has_filename()) destination_ = destination_.parent_path();
  std::error_code ec;
  if (std::filesystem::exists(destination_, ec)) {
    SIEVE_USER_CHECK(std::filesystem::is_directory(destination_, ec), "'{}' exists and is not a directory",
                     destination_.string());
    SIEVE_USER_CHECK(replace || is_empty_directory(destination_),
                     "'{}' exists and is not empty; choose another directory or pass --force to replace it",
                     destination_.string());
  }
  std::filesystem::create_directories(destination_.parent_path(), ec);
  SIEVE_USER_CHECK(std::filesystem::is_directory(destination_.parent_path()), "cannot create directory '{}': {}",
                   destination_.parent_path().string(), ec.message());
  staging_ = make_sibling_dir(destination_, ".building");
}

StagingDir::~StagingDir() {
  if (published_) return;
  std::error_code ignored;
  std::filesystem::remove_all(staging_, ignored);
}

void StagingDir::publish() {
  std::error_code ec;
  std::filesystem::path old;
  if (std::filesystem::exists(destination_, ec)) {
    if (is_empty_directory(destination_)) {
      std::filesystem::remove(destination_, ec);
    } else {
      SIEVE_USER_CHECK(replace_, "'{}' appeared while the data set was built; it was left as it is",
                       destination_.string());
      old = make_sibling_dir(destination_, ".old");
      std::filesystem::rename(destination_, old / "data", ec);
      SIEVE_USER_CHECK(!ec, "cannot move '{}' aside: {}", destination_.string(), ec.message());
    }
  }
  std::filesystem::rename(staging_, destination_, ec);
  if (ec && !old.empty()) {  // put the previous directory back
    std::error_code ignored;
    std::filesystem::rename(old / "data", destination_, ignored);
    std::filesystem::remove_all(old, ignored);
  }
  SIEVE_USER_CHECK(!ec, "cannot rename '{}' to '{}': {}", staging_.string(), destination_.string(), ec.message());
  published_ = true;
  if (!old.empty()) std::filesystem::remove_all(old, ec);
}

}  // namespace sieve::data
