// A progress line for long work: what the caller reports, plus elapsed time and ETA from
// the rate so far. Rewrites one terminal line in place; on a pipe or file, prints one line per
// report so logs stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace sieve::train {

class ProgressLine {
 public:
  explicit ProgressLine(std::int64_t total);
  ~ProgressLine();
  // `done` units of `total` finished; `message` describes the current state.
  void report(std::int64_t done, const std::string& message);

 private:
  std::int64_t total_;
  std::chrono::steady_clock::time_point start_;
  bool terminal_;
  bool open_line_ = false;
};

// "1h02m", "4m05s", "12s".
std::string format_duration(double seconds);

}  // namespace sieve::train
