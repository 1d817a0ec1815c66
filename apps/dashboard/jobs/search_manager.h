// Hyperparameter searches with successive halving. Every trial is a `sieve train` run under
// <runs>/<search>/trial-NN that validates at each rung's step count. A monitor thread (polling every
// 250 ms) stops a trial (SIGTERM: it checkpoints) once its metrics.jsonl shows the validation at
// its rung; when every trial of a rung has reported, the best 1/eta by validation loss are resumed
// towards the next rung and the rest are pruned. A trial that ran past its rung before the stop
// reached it has its later validations already: it is not resumed for a rung it has passed.
//
// Search JSON: {"id","name","state":"running"|"done"|"stopped","rungs","eta","parallel","rung",
// "trials":[{"run","params","state","rung","val_loss","step"}]}, trials ranked best first: the
// furthest rung reported, then the lowest validation loss there. A trial's state is "pending"
// (not started at its rung yet), its job's ("queued", "running", "stopping"), "waiting" (reported
// its rung, stopped until the rung completes), "pruned", "finished", "failed" or "stopped"; its
// "rung" is the index of the furthest rung reported (-1: none), "val_loss" the loss there.
// The search JSON is also kept in <runs>/<search>/search.json; a manager lists the searches it
// finds there at start (one that was running then is "stopped": its trials are no longer watched).
//
// Thread-safe; destroy before the JobManager. The destructor stops running searches' trials.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/dashboard/jobs/job_manager.h"
#include "apps/dashboard/jobs/search_spec.h"
#include "apps/dashboard/runs/metrics_file.h"

namespace sieve::dashboard {

class SearchManager {
 public:
  explicit SearchManager(JobManager& jobs);
  ~SearchManager();
  SearchManager(const SearchManager&) = delete;
  SearchManager& operator=(const SearchManager&) = delete;

  // Checks a SearchSpec (search_spec.h), creates the search's directory and starts its first
  // trials; returns the search's id (its name). Throws core::UserError for a bad spec.
  std::string start_search(const nlohmann::json& spec);
  // Stops the search's running trials and starts no more. Throws RunNotFound for an unknown id,
  // JobConflict when it is no longer running.
  void stop_search(const std::string& id);

  // {"searches":[Search JSON]}, newest first.
  nlohmann::json searches() const;
  // Throws RunNotFound for an unknown id.
  nlohmann::json search(const std::string& id) const;

 private:
  struct Trial {
    SearchTrialPlan plan;
    std::string state = "pending";
    int rung = 0;            // the rung it works towards (or has reached, when waiting)
    int reported_rung = -1;  // the furthest rung whose validation it has
    std::optional<double> reported_loss;
    std::int64_t step = 0;
    bool started = false;  // its run directory exists (later rungs resume it)
    bool stop_sent = false;
    std::unique_ptr<MetricsFile> metrics;
  };
  struct Search {
    SearchPlan plan;
    std::string state = "running";
    int rung = 0;
    double created_unix_time = 0;
    std::vector<Trial> trials;
    std::string saved;  // the search.json last written
  };

  void load_earlier_searches();
  void monitor();
  void advance(Search& search);
  void observe(Search& search, Trial& trial);
  void complete_rung(Search& search);
  void launch_pending(Search& search);
  void stop_trials(Search& search);
  nlohmann::json search_json(const Search& search) const;
  void save(Search& search) const;
  int last_rung(const Search& search) const;

  JobManager& jobs_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool closing_ = false;
  std::map<std::string, Search> searches_;
  std::map<std::string, nlohmann::json> earlier_;  // search.json of searches from before the start
  std::thread monitor_;
};

}  // namespace sieve::dashboard
