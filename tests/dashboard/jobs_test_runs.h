// A runs directory for the jobs tests: a temporary root holding a made-up corpus, and launch
// forms for tiny `sieve train` runs that finish in about a second.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "apps/dashboard/runs/metrics_file.h"
#include "made_up_corpus.h"
#include "temp_dir.h"

namespace sieve::dashboard::testing {

// Tiny models train fastest on one thread, and a busy machine makes more threads spin.
constexpr int kTestThreads = 1;

class JobsRunsRoot {
 public:
  JobsRunsRoot() { sieve::testing::write_made_up_corpus(root() / "corpus.txt", 7); }

  const std::filesystem::path& root() const { return dir_.path(); }

  // The tiny preset on corpus.txt: batch 2 × context 32, 2 validation windows.
  static nlohmann::json tiny_form(const std::string& name, int steps) {
    return {{"name", name},   {"preset", "tiny"},  {"dataset", "corpus.txt"}, {"batch", 2},       {"context", 32},
            {"steps", steps}, {"eval_windows", 2}, {"val_fraction", 0.05},    {"log_interval", 5}};
  }

 private:
  sieve::testing::TempDir dir_;
};

inline std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline nlohmann::json read_json(const std::filesystem::path& file) { return nlohmann::json::parse(read_text(file)); }

// The highest train step in a run's metrics.jsonl (-1 before any).
inline std::int64_t last_train_step(const std::filesystem::path& run_dir) {
  MetricsFile metrics(run_dir / "metrics.jsonl");
  metrics.refresh();
  const RunSeries series = series_of(metrics.records());
  return series.train.empty() ? -1 : static_cast<std::int64_t>(number_or(series.train.back(), "step", -1));
}

// Polls `condition` every 20 ms for up to `timeout`; returns its last value.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace sieve::dashboard::testing
