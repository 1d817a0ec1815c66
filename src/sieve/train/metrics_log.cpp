#include "sieve/train/metrics_log.h"

#include <sys/resource.h>

#include <chrono>

#include "sieve/core/error.h"

namespace sieve::train {

MetricsLog::MetricsLog(const std::filesystem::path& file) {
  if (file.empty()) return;
  out_.open(file, std::ios::app);
  SIEVE_USER_CHECK(out_.is_open(), "cannot open the metrics file {} for appending", file.string());
}

void MetricsLog::write(const nlohmann::json& record) {
  if (!enabled()) return;
  out_ << record.dump() << '\n';
  out_.flush();
}

double unix_time_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double peak_rss_mb() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return 0.0;
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

}  // namespace sieve::train
