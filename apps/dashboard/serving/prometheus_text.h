// Prometheus' text exposition format (version 0.0.4), as `sieve serve` writes at /metrics: the
// samples, each a metric name, its labels and a value. Comments (# HELP, # TYPE) are skipped.
// The text comes over the network, so the parser bounds what it keeps.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sieve::dashboard {

struct PrometheusSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0.0;  // +Inf, -Inf and NaN as such
};

inline constexpr std::size_t kMaxPrometheusSamples = 100000;

// The samples of `text`; throws core::UserError naming the line for a malformed sample or for
// more than kMaxPrometheusSamples.
std::vector<PrometheusSample> parse_prometheus_text(std::string_view text);

}  // namespace sieve::dashboard
