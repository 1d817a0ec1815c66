#include "apps/dashboard/runs/metrics_file.h"

#include <chrono>
#include <fstream>
#include <map>

namespace sieve::dashboard {
namespace {

double file_time_to_unix(std::filesystem::file_time_type time) {
  const auto system = std::chrono::file_clock::to_sys(time);
  return std::chrono::duration<double>(system.time_since_epoch()).count();
}

std::vector<nlohmann::json> one_per_step(std::map<std::int64_t, nlohmann::json>&& by_step) {
  std::vector<nlohmann::json> out;
  out.reserve(by_step.size());
  for (auto& [step, record] : by_step) out.push_back(std::move(record));
  return out;
}

}  // namespace

MetricsFile::MetricsFile(std::filesystem::path file) : file_(std::move(file)) {}

std::size_t MetricsFile::refresh() {
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(file_, error);
  if (error) return 0;
  const auto time = std::filesystem::last_write_time(file_, error);
  if (!error) modified_ = file_time_to_unix(time);
  if (size < offset_) {
    offset_ = 0;
    partial_.clear();
    records_.clear();
    bad_lines_ = 0;
  }
  if (size == offset_) return 0;
  std::ifstream in(file_, std::ios::binary);
  if (!in) return 0;
  in.seekg(static_cast<std::streamoff>(offset_));
  std::string chunk(size - offset_, '\0');
  in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  chunk.resize(static_cast<std::size_t>(in.gcount()));
  offset_ += chunk.size();

  const std::size_t before = records_.size();
  std::size_t line_start = 0;
  for (std::size_t newline = chunk.find('\n'); newline != std::string::npos;
       line_start = newline + 1, newline = chunk.find('\n', line_start)) {
    partial_.append(chunk, line_start, newline - line_start);
    nlohmann::json record = nlohmann::json::parse(partial_, nullptr, /*allow_exceptions=*/false);
    partial_.clear();
    if (record.is_object() && record.contains("event") && record["event"].is_string()) {
      records_.push_back(std::move(record));
    } else {
      ++bad_lines_;
    }
  }
  partial_.append(chunk, line_start, std::string::npos);
  return records_.size() - before;
}

RunSeries series_of(const std::vector<nlohmann::json>& records) {
  RunSeries series;
  std::map<std::int64_t, nlohmann::json> train;
  std::map<std::int64_t, nlohmann::json> eval;
  for (const nlohmann::json& record : records) {
    const std::string& event = record.at("event").get_ref<const std::string&>();
    const std::int64_t step = static_cast<std::int64_t>(number_or(record, "step", -1));
    if (event == "start") {
      series.start = record;
    } else if (event == "train" && step >= 0) {
      train[step] = record;
    } else if (event == "eval" && step >= 0) {
      eval[step] = record;
    }
  }
  series.train = one_per_step(std::move(train));
  series.eval = one_per_step(std::move(eval));
  return series;
}

double number_or(const nlohmann::json& record, const char* field, double fallback) {
  const auto it = record.find(field);
  return it != record.end() && it->is_number() ? it->get<double>() : fallback;
}

}  // namespace sieve::dashboard
