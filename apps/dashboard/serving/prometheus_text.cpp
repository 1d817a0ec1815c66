#include "apps/dashboard/serving/prometheus_text.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "sieve/core/error.h"

namespace sieve::dashboard {
namespace {

bool is_name_char(char c, bool first) {
  const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  return letter || (!first && c >= '0' && c <= '9');
}

// Reads a metric or label name at `at`; empty when none is there.
std::string_view read_name(std::string_view line, std::size_t& at) {
  const std::size_t start = at;
  while (at < line.size() && is_name_char(line[at], at == start)) ++at;
  return line.substr(start, at - start);
}

double parse_value(std::string_view text, std::size_t line_number) {
  if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  double value = 0.0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  SIEVE_USER_CHECK(error == std::errc() && end == text.data() + text.size() && !text.empty(),
                   "metrics line {}: '{}' is not a number", line_number, text);
  return value;
}

// The labels of `{a="x",b="y"}` starting at `at` (on the '{'); leaves `at` after the '}'.
std::map<std::string, std::string> read_labels(std::string_view line, std::size_t& at, std::size_t line_number) {
  std::map<std::string, std::string> labels;
  ++at;  // '{'
  while (true) {
    SIEVE_USER_CHECK(at < line.size(), "metrics line {}: the labels are not closed", line_number);
    if (line[at] == '}') break;
    const std::string_view name = read_name(line, at);
    SIEVE_USER_CHECK(!name.empty() && at + 1 < line.size() && line[at] == '=' && line[at + 1] == '"',
                     "metrics line {}: a label must be name=\"value\"", line_number);
    at += 2;
    std::string value;
    for (;; ++at) {
      SIEVE_USER_CHECK(at < line.size(), "metrics line {}: a label value is not closed", line_number);
      if (line[at] == '"') break;
      if (line[at] == '\\') {
        SIEVE_USER_CHECK(++at < line.size(), "metrics line {}: a label value ends in '\\'", line_number);
        value += line[at] == 'n' ? '\n' : line[at];
      } else {
        value += line[at];
      }
    }
    ++at;  // the closing quote
    labels[std::string(name)] = std::move(value);
    if (at < line.size() && line[at] == ',') ++at;
  }
  ++at;  // '}'
  return labels;
}

PrometheusSample parse_sample(std::string_view line, std::size_t line_number) {
  PrometheusSample sample;
  std::size_t at = 0;
  sample.name = std::string(read_name(line, at));
  SIEVE_USER_CHECK(!sample.name.empty(), "metrics line {}: no metric name", line_number);
  if (at < line.size() && line[at] == '{') sample.labels = read_labels(line, at, line_number);
  SIEVE_USER_CHECK(at < line.size() && (line[at] == ' ' || line[at] == '\t'),
                   "metrics line {}: no value after the metric", line_number);
  while (at < line.size() && (line[at] == ' ' || line[at] == '\t')) ++at;
  const std::size_t value_end = std::min(line.find_first_of(" \t", at), line.size());
  sample.value = parse_value(line.substr(at, value_end - at), line_number);  // a timestamp may follow
  return sample;
}

}  // namespace

std::vector<PrometheusSample> parse_prometheus_text(std::string_view text) {
  std::vector<PrometheusSample> samples;
  std::size_t line_number = 0;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    SIEVE_USER_CHECK(samples.size() < kMaxPrometheusSamples, "the metrics hold more than {} samples",
                     kMaxPrometheusSamples);
    samples.push_back(parse_sample(line.substr(first), line_number));
  }
  return samples;
}

}  // namespace sieve::dashboard
