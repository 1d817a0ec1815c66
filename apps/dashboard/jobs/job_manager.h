// The training processes the dashboard starts: launched from the form, stopped (SIGTERM: `sieve
// train` checkpoints and exits), resumed from their recorded command, at most `cores` at once (the
// rest wait in a queue). Each job's state is kept in its run's job.json, so a restarted dashboard
// shows how runs ended; a job recorded as running whose process is still alive is watched again.
//
// Thread-safe. The destructor stops every process still running (SIGTERM, then SIGKILL after a
// grace period) and waits for it: no process outlives the manager unnoticed. Searches and try-it
// runs that use a manager must be destroyed before it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "apps/dashboard/jobs/job_record.h"

namespace sieve::dashboard {

// A request the job's state does not allow (stop a run that is not running, resume one that is):
// the HTTP API answers 409.
class JobConflict : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A job's state: "queued", "running", "stopping", "finished", "stopped" or "failed" (job.json
// stores "stopping" as "running").
struct JobStatus {
  std::string state;
  pid_t pid = 0;
  std::optional<int> exit_code;  // 128 + signal when a signal ended it
  double started_unix_time = 0;
  double ended_unix_time = 0;
  bool active() const { return state == "queued" || state == "running" || state == "stopping"; }
};

class JobManager {
 public:
  // `runs_root` must exist; `cores`: how many training processes may run at once (>= 1).
  // `threads_per_job` > 0 gives every process that many threads; 0 shares the cores among the
  // jobs running and queued when a process starts (a job alone gets them all).
  JobManager(std::filesystem::path runs_root, std::filesystem::path sieve_binary, int cores, int threads_per_job = 0);
  ~JobManager();
  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  const std::filesystem::path& root() const { return root_; }
  int cores() const { return cores_; }
  // The threads a job gets when it runs alone.
  int solo_threads() const { return threads_per_job_ > 0 ? threads_per_job_ : cores_; }

  // Checks a LaunchForm (launch_form.h), creates its run directory and queues the job; returns
  // the run's name. Throws core::UserError for a bad form.
  std::string launch(const nlohmann::json& form);
  // Creates the new run directory `run` under the root and queues `command` for it (searches and
  // try-it build their own commands). `threads` > 0 fixes its thread count; 0 follows
  // `threads_per_job`.
  void start(const std::string& run, const JobCommand& command, int threads = 0);
  // SIGTERM to a running job's process group (a queued one just leaves the queue), even when its
  // directory has been removed meanwhile. Throws RunNotFound for an unknown run and JobConflict
  // when it is not running or queued.
  void stop(const std::string& run);
  // Queues the run again with its recorded command (command.json, or the one kept in job.json)
  // plus --resume, with the thread count it was started with. Throws RunNotFound, JobConflict when it is active or
  // finished, core::UserError when it has no usable command record.
  void resume(const std::string& run);

  // The status of a job this manager knows (launched, or found in a job.json at start).
  std::optional<JobStatus> status(const std::string& run) const;
  // {"jobs":[{"run","state","pid","exit_code","started_unix_time","ended_unix_time","threads"}]}
  nlohmann::json jobs() const;
  // Waits until the job is no longer active or `timeout` passes; returns whether it ended.
  bool wait_until_ended(const std::string& run, std::chrono::milliseconds timeout) const;

 private:
  struct Job {
    std::filesystem::path dir;
    JobCommand command;
    JobStatus status;
    int threads = 0;          // requested; 0: chosen at start
    int running_threads = 0;  // what the process got
    bool child = true;        // false: found running at start, not our child (polled, not waited)
    bool stop_requested = false;
  };

  void enqueue(const std::string& run, std::filesystem::path dir, JobCommand command, int threads);
  void start_queued();
  void reap();
  void settle(Job& job, const std::string& state, std::optional<int> exit_code);
  void record(const Job& job) const;
  void recover_recorded_jobs();
  int running_count() const;

  std::filesystem::path root_;
  std::filesystem::path binary_;
  int cores_;
  int threads_per_job_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::map<std::string, Job> jobs_;
  std::deque<std::string> queue_;
  bool closing_ = false;
  std::thread reaper_;
};

}  // namespace sieve::dashboard
