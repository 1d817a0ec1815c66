// Test artifacts that take seconds to make — the tiny trifashion data set (`--size tiny`, seed 1,
// ~20 s of speech synthesis), a model trained on it — made once under the build tree's test
// cache (SIEVE_TEST_CACHE_DIR) and shared by every test process, under a file lock so that tests
// running side by side wait for the first instead of repeating it.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

namespace sieve::testing {

inline bool trifashion_sources_installed() {
  return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz") &&
         std::filesystem::exists("/usr/share/wordnet/index.noun") && std::filesystem::exists("/usr/bin/espeak-ng") &&
         std::filesystem::exists("/usr/bin/sox");
}

// SIEVE_TEST_CACHE_DIR/name, made by `build(dir)` unless dir/done_file exists (written last by
// the build, so one cut short is made again).
inline std::filesystem::path shared_test_artifact(const std::string& name, const std::string& done_file,
                                                  const std::function<void(const std::filesystem::path&)>& build) {
  const std::filesystem::path cache = SIEVE_TEST_CACHE_DIR;
  std::filesystem::create_directories(cache);
  const std::filesystem::path out = cache / name;
  const int lock = ::open((cache / (name + ".lock")).c_str(), O_CREAT | O_RDWR, 0644);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) throw std::runtime_error("cannot lock the test cache");
  if (!std::filesystem::exists(out / done_file)) build(out);
  ::flock(lock, LOCK_UN);
  ::close(lock);
  return out;
}

// The data set (its manifest is written last; a build cut short needs --force).
inline std::filesystem::path shared_tiny_trifashion(const std::function<void(const std::filesystem::path&)>& build) {
  return shared_test_artifact("trifashion-tiny-1", "manifest.json", build);
}

}  // namespace sieve::testing
