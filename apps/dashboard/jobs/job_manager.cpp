#include "apps/dashboard/jobs/job_manager.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "apps/dashboard/jobs/child_process.h"
#include "apps/dashboard/jobs/command_args.h"
#include "apps/dashboard/jobs/launch_form.h"
#include "apps/dashboard/jobs/run_summary.h"
#include "apps/dashboard/runs/run_json.h"
#include "apps/dashboard/runs/run_path.h"
#include "sieve/core/error.h"

namespace sieve::dashboard {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// How often the reaper looks for ended processes (and starts queued ones).
constexpr auto kReapInterval = 100ms;
// How long the destructor lets stopped processes checkpoint before killing them.
constexpr auto kStopGrace = 60s;
// Deepest job.json the start-up scan looks at: runs are at most 3 directories deep.
constexpr int kMaxScanDepth = 3;

// How a process that is not our child (found at start) ended, judged from what it left.
std::string outcome_of_vanished(const fs::path& dir) {
  if (summarize_run(dir).reached_end()) return "finished";
  std::error_code error;
  return fs::is_directory(dir / "checkpoints", error) && !fs::is_empty(dir / "checkpoints", error) ? "stopped"
                                                                                                   : "failed";
}

// Signals a job's whole process group; never pid 0 or below (our own group, or every process).
void signal_job(pid_t pid, int signal) {
  if (pid > 0) ::kill(-pid, signal);
}

}  // namespace

JobManager::JobManager(fs::path runs_root, fs::path sieve_binary, int cores, int threads_per_job)
    : binary_(std::move(sieve_binary)), cores_(cores), threads_per_job_(threads_per_job) {
  std::error_code error;
  root_ = fs::canonical(runs_root, error);
  SIEVE_USER_CHECK(!error && fs::is_directory(root_), "runs directory '{}' does not exist", runs_root.string());
  SIEVE_USER_CHECK(cores_ >= 1, "the jobs need at least one core, not {}", cores_);
  SIEVE_USER_CHECK(threads_per_job_ >= 0, "threads per job must be >= 0, not {}", threads_per_job_);
  recover_recorded_jobs();
  reaper_ = std::thread([this] { reap(); });
}

JobManager::~JobManager() {
  std::unique_lock lock(mutex_);
  closing_ = true;
  for (const std::string& run : queue_) settle(jobs_.at(run), "stopped", std::nullopt);
  queue_.clear();
  for (auto& [run, job] : jobs_) {
    if (!job.status.active()) continue;
    job.stop_requested = true;
    signal_job(job.status.pid, SIGTERM);
  }
  const auto any_active = [this] {
    return std::any_of(jobs_.begin(), jobs_.end(), [](const auto& entry) { return entry.second.status.active(); });
  };
  if (!changed_.wait_for(lock, kStopGrace, [&] { return !any_active(); }))
    for (auto& [run, job] : jobs_)
      if (job.status.active()) signal_job(job.status.pid, SIGKILL);
  changed_.wait(lock, [&] { return !any_active(); });
  lock.unlock();
  reaper_.join();
}

std::string JobManager::launch(const nlohmann::json& form) {
  LaunchPlan plan = plan_launch(form, root_);
  enqueue(plan.run, std::move(plan.dir), std::move(plan.command), 0);
  return plan.run;
}

void JobManager::start(const std::string& run, const JobCommand& command, int threads) {
  fs::path dir = new_run_directory(root_, run);
  fs::create_directories(dir.parent_path());
  enqueue(run, std::move(dir), command, threads);
}

void JobManager::enqueue(const std::string& run, fs::path dir, JobCommand command, int threads) {
  // create_directory refuses a directory that appeared since the name was checked.
  SIEVE_USER_CHECK(fs::create_directory(dir), "run '{}' already exists", run);
  std::lock_guard lock(mutex_);
  Job& job = jobs_[run];
  job = Job{};
  job.dir = std::move(dir);
  job.command = std::move(command);
  job.status.state = "queued";
  job.threads = threads;
  queue_.push_back(run);
  record(job);
  start_queued();
}

void JobManager::stop(const std::string& run) {
  std::unique_lock lock(mutex_);
  const auto it = jobs_.find(run);
  if (it == jobs_.end()) {
    lock.unlock();
    run_directory(root_, run);  // a malformed or unknown name says so
    throw JobConflict(fmt::format("run '{}' is not running", run));
  }
  Job& job = it->second;
  if (job.status.state == "queued") {
    queue_.erase(std::find(queue_.begin(), queue_.end(), run));
    settle(job, "stopped", std::nullopt);
    return;
  }
  if (job.status.state == "stopping") return;
  if (job.status.state != "running")
    throw JobConflict(fmt::format("run '{}' is not running ({})", run, job.status.state));
  job.stop_requested = true;
  job.status.state = "stopping";
  signal_job(job.status.pid, SIGTERM);
  changed_.notify_all();
}

void JobManager::resume(const std::string& run) {
  const fs::path dir = run_directory(root_, run);
  {
    std::lock_guard lock(mutex_);
    if (const auto it = jobs_.find(run); it != jobs_.end()) {
      const std::string& state = it->second.status.state;
      if (it->second.status.active()) throw JobConflict(fmt::format("run '{}' is {}", run, state));
      if (state == "finished") throw JobConflict(fmt::format("run '{}' has finished", run));
    }
  }
  std::optional<JobCommand> command = recorded_command(dir);
  SIEVE_USER_CHECK(command.has_value(), "run '{}' has no command.json: it cannot be resumed", run);
  // The command must write into this run: resuming must not train somewhere else.
  const std::optional<std::string> out = flag_value(command->args, "--out");
  std::error_code error;
  SIEVE_USER_CHECK(out && fs::equivalent(command->cwd / *out, dir, error),
                   "run '{}' was started with --out somewhere else: it cannot be resumed here", run);
  command->args = with_flag(command->args, "--resume", {});

  std::lock_guard lock(mutex_);
  Job& job = jobs_[run];
  if (job.status.active()) throw JobConflict(fmt::format("run '{}' is {}", run, job.status.state));
  const int threads = job.threads;
  job = Job{};
  job.dir = dir;
  job.command = std::move(*command);
  job.status.state = "queued";
  job.threads = threads;
  queue_.push_back(run);
  record(job);
  start_queued();
}

std::optional<JobStatus> JobManager::status(const std::string& run) const {
  std::lock_guard lock(mutex_);
  const auto it = jobs_.find(run);
  if (it == jobs_.end()) return std::nullopt;
  return it->second.status;
}

nlohmann::json JobManager::jobs() const {
  std::lock_guard lock(mutex_);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [run, job] : jobs_) {
    const JobStatus& status = job.status;
    list.push_back(
        {{"run", run},
         {"state", status.state},
         {"pid", status.pid > 0 ? nlohmann::json(status.pid) : nlohmann::json(nullptr)},
         {"exit_code", status.exit_code ? nlohmann::json(*status.exit_code) : nlohmann::json(nullptr)},
         {"started_unix_time",
          status.started_unix_time > 0 ? nlohmann::json(status.started_unix_time) : nlohmann::json(nullptr)},
         {"ended_unix_time",
          status.ended_unix_time > 0 ? nlohmann::json(status.ended_unix_time) : nlohmann::json(nullptr)},
         {"threads", job.running_threads > 0 ? nlohmann::json(job.running_threads) : nlohmann::json(nullptr)}});
  }
  return {{"jobs", list}};
}

bool JobManager::wait_until_ended(const std::string& run, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    const auto it = jobs_.find(run);
    return it == jobs_.end() || !it->second.status.active();
  });
}

int JobManager::running_count() const {
  return static_cast<int>(std::count_if(jobs_.begin(), jobs_.end(), [](const auto& entry) {
    return entry.second.status.state == "running" || entry.second.status.state == "stopping";
  }));
}

// With the lock held.
void JobManager::start_queued() {
  while (!closing_ && !queue_.empty() && running_count() < cores_) {
    const std::string run = queue_.front();
    queue_.pop_front();
    Job& job = jobs_.at(run);
    const int sharing = std::min(cores_, running_count() + 1 + static_cast<int>(queue_.size()));
    job.running_threads = job.threads > 0        ? job.threads
                          : threads_per_job_ > 0 ? threads_per_job_
                                                 : std::max(1, cores_ / sharing);
    try {
      job.status.pid = spawn_job_process(binary_, job.command, job.dir / "train.log", job.running_threads);
    } catch (const std::exception& e) {
      std::ofstream(job.dir / "train.log", std::ios::app) << e.what() << "\n";
      settle(job, "failed", std::nullopt);
      continue;
    }
    job.status.state = "running";
    job.status.started_unix_time = unix_time_now();
    record(job);
  }
  changed_.notify_all();
}

void JobManager::reap() {
  std::unique_lock lock(mutex_);
  while (true) {
    for (auto& [run, job] : jobs_) {
      if (job.status.state != "running" && job.status.state != "stopping") continue;
      if (!job.child) {
        if (!job_process_alive(job.status.pid)) settle(job, outcome_of_vanished(job.dir), std::nullopt);
        continue;
      }
      int wait_status = 0;
      if (::waitpid(job.status.pid, &wait_status, WNOHANG) != job.status.pid) continue;
      if (WIFEXITED(wait_status)) {
        const int code = WEXITSTATUS(wait_status);
        settle(job, code != 0 ? "failed" : job.stop_requested ? "stopped" : "finished", code);
      } else {
        settle(job, job.stop_requested ? "stopped" : "failed", 128 + WTERMSIG(wait_status));
      }
    }
    start_queued();
    if (closing_ && running_count() == 0) return;
    changed_.wait_for(lock, kReapInterval);
  }
}

// With the lock held.
void JobManager::settle(Job& job, const std::string& state, std::optional<int> exit_code) {
  job.status.state = state;
  job.status.exit_code = exit_code;
  job.status.ended_unix_time = unix_time_now();
  record(job);
  changed_.notify_all();
}

void JobManager::record(const Job& job) const {
  const JobStatus& status = job.status;
  nlohmann::json record{{"pid", status.pid > 0 ? nlohmann::json(status.pid) : nlohmann::json(nullptr)},
                        {"state", status.state == "stopping" ? "running" : status.state},
                        {"exit_code", status.exit_code ? nlohmann::json(*status.exit_code) : nlohmann::json(nullptr)},
                        {"started_unix_time", status.started_unix_time > 0 ? nlohmann::json(status.started_unix_time)
                                                                           : nlohmann::json(nullptr)},
                        {"ended_unix_time", status.ended_unix_time > 0 ? nlohmann::json(status.ended_unix_time)
                                                                       : nlohmann::json(nullptr)}};
  if (!job.command.verb.empty()) record["command"] = command_json(job.command);
  try {
    write_job_record(job.dir, record);
  } catch (const std::exception& e) {
    // The run directory was removed or is not writable: the job goes on, only unrecorded.
    std::fprintf(stderr, "dashboard: %s\n", e.what());
  }
}

void JobManager::recover_recorded_jobs() {
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(root_, fs::directory_options::skip_permission_denied, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_directory() && it.depth() >= kMaxScanDepth) it.disable_recursion_pending();
    if (it->path().filename() != kJobRecordFile) continue;
    const fs::path dir = it->path().parent_path();
    const nlohmann::json record = read_job_record(dir);
    if (!record.is_object() || !record.contains("state") || !record["state"].is_string()) continue;
    const std::string state = record["state"];
    if (state != "running" && state != "queued") continue;
    Job job;
    job.dir = dir;
    job.status.state = state;
    job.child = false;
    if (record.contains("command")) {
      try {
        job.command = command_from_json(record["command"]);
      } catch (const core::UserError&) {
        // A malformed command record: the run cannot be resumed from it; its state still counts.
      }
    }
    job.status.pid = record.value("pid", nlohmann::json()).is_number_integer() ? record["pid"].get<pid_t>() : 0;
    job.status.started_unix_time = record.value("started_unix_time", nlohmann::json()).is_number()
                                       ? record["started_unix_time"].get<double>()
                                       : 0.0;
    const std::string run = fs::relative(dir, root_).generic_string();
    Job& kept = jobs_[run] = std::move(job);
    if (state == "running" && job_process_alive(kept.status.pid)) continue;  // still training: watched
    settle(kept, state == "queued" ? "stopped" : outcome_of_vanished(dir), std::nullopt);
  }
}

}  // namespace sieve::dashboard
