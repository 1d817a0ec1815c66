// "Try it": a suggestion's change measured by a short A/B run. From the run's recorded command,
// a baseline (its settings, a few steps) and a variant (the same plus the change) train one after
// the other, with the same thread count, under <runs>/<run>.try-<rule>-N/{baseline,variant}; then
// the measure is compared with a noise band and judged "better", "worse" or "no clear difference".
//
// TryIt JSON: {"id","run","rule","state":"queued"|"running"|"done"|"failed","steps","change",
// "measure","baseline":{"run","val_loss","tokens_per_s","skipped_total","peak_rss_mb"},
// "variant":{same},"difference" (variant - baseline),"relative" (difference / |baseline|),
// "verdict","error" (when failed),"created_unix_time"}; its id is the trial directory's run name.
// Also kept in the trial directory as try.json, from which a manager lists earlier trials at
// start (one that had not finished then has failed).
//
// Thread-safe; one trial trains at a time (timing fairness). Destroy before the JobManager: the
// destructor stops the trial that is training.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "apps/dashboard/jobs/job_manager.h"

namespace sieve::dashboard {

// The verdict on `measure` ("val_loss", "tokens_per_s", "skipped_total", "peak_rss_mb") going
// from `baseline` to `variant`.
std::string try_verdict(const std::string& measure, double baseline, double variant);

class TryItManager {
 public:
  explicit TryItManager(JobManager& jobs);
  ~TryItManager();
  TryItManager(const TryItManager&) = delete;
  TryItManager& operator=(const TryItManager&) = delete;

  // Queues an A/B trial of `change` ({"--flag": "value"}, "" for a switch) on run `run`, `steps`
  // steps each (0: 200); `rule` names the suggestion. Returns the trial's id. Throws RunNotFound,
  // core::UserError for a bad change, measure or rule, or a run without a command record.
  std::string try_suggestion(const std::string& run, const std::string& rule, const nlohmann::json& change,
                             const std::string& measure, std::int64_t steps);

  // {"trials":[TryIt JSON]}, oldest first.
  nlohmann::json trials() const;
  // Throws RunNotFound for an unknown id.
  nlohmann::json trial(const std::string& id) const;

 private:
  struct Trial {
    nlohmann::json json;  // TryIt JSON
    std::filesystem::path dir;
    JobCommand baseline;
    JobCommand variant;
  };

  void load_earlier_trials();
  void work();
  std::string train(const std::string& run, const JobCommand& command, int threads);
  void conclude(Trial& trial);
  void save(const Trial& trial) const;

  JobManager& jobs_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool closing_ = false;
  std::map<std::string, Trial> trials_;
  std::deque<std::string> queue_;
  std::thread worker_;
};

}  // namespace sieve::dashboard
