// One tiny trifashion data set (`--size tiny`, seed 1) shared by every test process that trains
// or evaluates on it: built once under the build tree's test cache (SIEVE_TEST_CACHE_DIR), under
// a file lock so that tests running side by side wait for the first build instead of repeating
// it (its spoken clips take ~20 s). `build(out)` makes it: in-process or through the CLI.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <stdexcept>

namespace sieve::testing {

inline bool trifashion_sources_installed() {
  return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz") &&
         std::filesystem::exists("/usr/share/wordnet/index.noun") && std::filesystem::exists("/usr/bin/espeak-ng") &&
         std::filesystem::exists("/usr/bin/sox");
}

inline std::filesystem::path shared_tiny_trifashion(const std::function<void(const std::filesystem::path&)>& build) {
  const std::filesystem::path cache = SIEVE_TEST_CACHE_DIR;
  std::filesystem::create_directories(cache);
  const std::filesystem::path out = cache / "trifashion-tiny-1";
  const int lock = ::open((cache / "trifashion-tiny-1.lock").c_str(), O_CREAT | O_RDWR, 0644);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) throw std::runtime_error("cannot lock the test data cache");
  // A build cut short leaves no manifest (it is written last); the builder then needs --force.
  if (!std::filesystem::exists(out / "manifest.json")) build(out);
  ::flock(lock, LOCK_UN);
  ::close(lock);
  return out;
}

}  // namespace sieve::testing
