// The runs under the dashboard's --runs root: which directories are runs, and their metrics
// read incrementally (one MetricsFile per run, kept between requests). Thread-safe: the HTTP
// server calls it from many threads.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "apps/dashboard/runs/metrics_file.h"

namespace sieve::dashboard {

// What a run's metrics say now: its records (a copy, so the caller needs no lock) and when the
// file last changed.
struct RunSnapshot {
  std::filesystem::path dir;
  std::vector<nlohmann::json> records;
  std::size_t bad_lines = 0;
  double modified_unix_time = 0.0;
};

class RunCatalog {
 public:
  // Throws core::UserError when `root` is not a directory.
  explicit RunCatalog(const std::filesystem::path& root);

  const std::filesystem::path& root() const { return root_; }

  // The names of the runs: directories under the root, at most kMaxRunDepth deep, that hold a
  // metrics.jsonl (a run's own subdirectories are not searched; hidden folders and symbolic
  // links are skipped). Sorted.
  std::vector<std::string> names() const;

  // The run's directory and its metrics, read up to the file's current end. Throws as
  // run_directory() does, and RunNotFound for a directory without metrics.jsonl.
  RunSnapshot snapshot(std::string_view name);
  // The same from the record with index `after` on (all when `after` is past the end: the file
  // was replaced; `reset` says so).
  RunSnapshot snapshot_after(std::string_view name, std::size_t after, bool& reset);

 private:
  struct Entry {
    explicit Entry(const std::filesystem::path& dir);
    std::filesystem::path dir;
    MetricsFile metrics;
    std::mutex mutex;
  };
  std::shared_ptr<Entry> entry(std::string_view name);

  std::filesystem::path root_;
  std::mutex mutex_;  // guards entries_
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> entries_;
};

}  // namespace sieve::dashboard
