#include "apps/dashboard/runs/run_catalog.h"

#include <algorithm>

#include "apps/dashboard/runs/run_json.h"
#include "apps/dashboard/runs/run_path.h"
#include "sieve/core/error.h"
#include "sieve/train/metrics_log.h"

namespace sieve::dashboard {
namespace {

// A run has written metrics, or the dashboard has launched it (job.json) and it has not yet.
bool is_run_directory(const std::filesystem::path& dir) {
  std::error_code error;
  return std::filesystem::is_regular_file(dir / train::kMetricsFile, error) ||
         std::filesystem::is_regular_file(dir / kJobRecordFile, error);
}

void find_runs(const std::filesystem::path& dir, const std::string& prefix, int depth, std::vector<std::string>& out) {
  std::error_code error;
  for (const auto& child : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = child.path().filename().string();
    if (child.is_symlink(error) || !child.is_directory(error)) continue;
    const std::string run_name = prefix.empty() ? name : prefix + "/" + name;
    if (!is_valid_run_name(run_name)) continue;  // hidden folders among them
    if (is_run_directory(child.path())) {
      out.push_back(run_name);
    } else if (depth < kMaxRunDepth) {
      find_runs(child.path(), run_name, depth + 1, out);
    }
  }
}

}  // namespace

RunCatalog::Entry::Entry(const std::filesystem::path& dir_in) : dir(dir_in), metrics(dir_in / train::kMetricsFile) {}

RunCatalog::RunCatalog(const std::filesystem::path& root) {
  std::error_code error;
  root_ = std::filesystem::canonical(root, error);
  SIEVE_USER_CHECK(!error && std::filesystem::is_directory(root_), "--runs: '{}' is not a directory", root.string());
}

std::vector<std::string> RunCatalog::names() const {
  std::vector<std::string> names;
  find_runs(root_, "", 1, names);
  std::sort(names.begin(), names.end());
  return names;
}

std::shared_ptr<RunCatalog::Entry> RunCatalog::entry(std::string_view name) {
  const std::filesystem::path dir = run_directory(root_, name);
  if (!is_run_directory(dir))
    throw RunNotFound(fmt::format("'{}' is not a run: it has no {}", name, train::kMetricsFile));
  std::lock_guard lock(mutex_);
  auto it = entries_.find(name);
  if (it == entries_.end() || it->second->dir != dir)
    it = entries_.insert_or_assign(std::string(name), std::make_shared<Entry>(dir)).first;
  return it->second;
}

RunSnapshot RunCatalog::snapshot(std::string_view name) {
  bool reset = false;
  return snapshot_after(name, 0, reset);
}

RunSnapshot RunCatalog::snapshot_after(std::string_view name, std::size_t after, bool& reset) {
  const std::shared_ptr<Entry> entry_of_run = entry(name);
  Entry& run = *entry_of_run;
  std::lock_guard lock(run.mutex);
  run.metrics.refresh();
  const std::vector<nlohmann::json>& records = run.metrics.records();
  reset = after > records.size();
  const std::size_t first = reset ? 0 : after;
  return {run.dir, std::vector<nlohmann::json>(records.begin() + static_cast<std::ptrdiff_t>(first), records.end()),
          run.metrics.bad_lines(), run.metrics.modified_unix_time()};
}

}  // namespace sieve::dashboard
