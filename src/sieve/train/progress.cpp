#include "sieve/train/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace sieve::train {

std::string format_duration(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

ProgressLine::ProgressLine(std::int64_t total)
    : total_(total), start_(std::chrono::steady_clock::now()), terminal_(isatty(STDERR_FILENO) == 1) {}

ProgressLine::~ProgressLine() {
  if (open_line_) std::fputc('\n', stderr);
}

void ProgressLine::report(std::int64_t done, const std::string& message) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string eta = "?";
  if (done > 0 && total_ > 0) eta = format_duration(elapsed * static_cast<double>(total_ - done) / static_cast<double>(done));
  const std::string line = fmt::format("{} | elapsed {} | ETA {}", message, format_duration(elapsed), eta);
  if (terminal_) {
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    open_line_ = true;
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace sieve::train
