#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <filesystem>

#include "apps/dashboard/jobs/job_manager.h"
#include "apps/dashboard/jobs/job_services.h"
#include "apps/dashboard/runs/run_path.h"
#include "jobs_test_runs.h"
#include "sieve/core/error.h"

namespace sieve::dashboard {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::eventually;
using testing::JobsRunsRoot;
using testing::last_train_step;
using testing::read_json;
using testing::read_text;

// Long enough to be stopped while it trains (a few seconds), short enough to finish after a resume.
constexpr int kLongSteps = 3000;

class JobManagerTest : public ::testing::Test {
 protected:
  fs::path root() const { return fs::canonical(runs_.root()); }
  std::string state_of(const JobManager& jobs, const std::string& run) const {
    const auto status = jobs.status(run);
    return status ? status->state : "unknown";
  }

  JobsRunsRoot runs_;
};

TEST_F(JobManagerTest, LaunchedRunTrainsToTheEnd) {
  JobManager jobs(runs_.root(), SIEVE_BINARY, 2);  // threads shared among the jobs
  const std::string run = jobs.launch(JobsRunsRoot::tiny_form("first", 20));
  EXPECT_EQ(run, "first");
  EXPECT_TRUE(jobs.status(run)->active());
  ASSERT_TRUE(jobs.wait_until_ended(run, 120s));
  const fs::path dir = root() / run;
  EXPECT_EQ(state_of(jobs, run), "finished") << read_text(dir / "train.log");
  EXPECT_EQ(last_train_step(dir), 20);
  EXPECT_NE(read_text(dir / "train.log").find("model saved to"), std::string::npos);
  const json record = read_json(dir / "job.json");
  EXPECT_EQ(record["state"], "finished");
  EXPECT_EQ(record["exit_code"], 0);
  EXPECT_GT(record["pid"].get<int>(), 0);
  EXPECT_GE(record["ended_unix_time"].get<double>(), record["started_unix_time"].get<double>());
  EXPECT_EQ(record["command"]["verb"], "train");
  const json listed = jobs.jobs()["jobs"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["run"], "first");
  EXPECT_EQ(listed[0]["threads"], 2);  // alone on the machine: every core
  // A finished run is neither stopped nor resumed.
  EXPECT_THROW(jobs.stop(run), JobConflict);
  EXPECT_THROW(jobs.resume(run), JobConflict);
}

TEST_F(JobManagerTest, StoppedRunCheckpointsAndResumesToTheEnd) {
  JobManager jobs(runs_.root(), SIEVE_BINARY, 2, testing::kTestThreads);
  // A descriptor of the server's (no close-on-exec) that the job must not inherit.
  const int server_fd = ::open((root() / "corpus.txt").c_str(), O_RDONLY);
  ASSERT_GE(server_fd, 0);
  const std::string run = jobs.launch(JobsRunsRoot::tiny_form("long", kLongSteps));
  ::close(server_fd);
  const fs::path dir = root() / run;
  ASSERT_TRUE(eventually([&] { return last_train_step(dir) >= 10; }, 60s)) << read_text(dir / "train.log");
  const fs::path fds = fs::path("/proc") / std::to_string(jobs.status(run)->pid) / "fd";
  for (const auto& fd : fs::directory_iterator(fds)) {
    std::error_code error;
    EXPECT_NE(fs::read_symlink(fd.path(), error), root() / "corpus.txt") << fd.path();
  }
  // Sieve reads either variable.
  const std::string environment = read_text(fs::path("/proc") / std::to_string(jobs.status(run)->pid) / "environ");
  EXPECT_NE(environment.find(std::string("OMP_NUM_THREADS=1") + '\0'), std::string::npos);
  EXPECT_NE(environment.find(std::string("SIEVE_NUM_THREADS=1") + '\0'), std::string::npos);
  jobs.stop(run);
  EXPECT_TRUE(state_of(jobs, run) == "stopping" || state_of(jobs, run) == "stopped");
  ASSERT_TRUE(jobs.wait_until_ended(run, 60s));
  EXPECT_EQ(state_of(jobs, run), "stopped") << read_text(dir / "train.log");
  EXPECT_EQ(read_json(dir / "job.json")["state"], "stopped");
  ASSERT_TRUE(fs::is_directory(dir / "checkpoints"));
  EXPECT_FALSE(fs::is_empty(dir / "checkpoints"));
  const std::int64_t stopped_at = last_train_step(dir);
  EXPECT_LT(stopped_at, kLongSteps);
  EXPECT_THROW(jobs.stop(run), JobConflict);

  jobs.resume(run);
  EXPECT_THROW(jobs.resume(run), JobConflict);  // already running
  ASSERT_TRUE(jobs.wait_until_ended(run, 120s));
  EXPECT_EQ(state_of(jobs, run), "finished") << read_text(dir / "train.log");
  EXPECT_EQ(last_train_step(dir), kLongSteps);
  EXPECT_NE(read_text(dir / "train.log").find("resumed from"), std::string::npos);
  const auto args = read_json(dir / "job.json")["command"]["args"].get<std::vector<std::string>>();
  EXPECT_EQ(std::count(args.begin(), args.end(), "--resume"), 1);
}

TEST_F(JobManagerTest, JobsBeyondTheCoresWaitInTheQueue) {
  JobManager jobs(runs_.root(), SIEVE_BINARY, 1, testing::kTestThreads);
  const std::string first = jobs.launch(JobsRunsRoot::tiny_form("first", kLongSteps));
  const std::string second = jobs.launch(JobsRunsRoot::tiny_form("second", 10));
  const std::string third = jobs.launch(JobsRunsRoot::tiny_form("third", 10));
  EXPECT_EQ(state_of(jobs, first), "running");
  EXPECT_EQ(state_of(jobs, second), "queued");
  EXPECT_EQ(state_of(jobs, third), "queued");
  EXPECT_EQ(read_json(root() / second / "job.json")["state"], "queued");
  jobs.stop(third);  // leaves the queue without running
  EXPECT_EQ(state_of(jobs, third), "stopped");
  EXPECT_FALSE(fs::exists(root() / third / "metrics.jsonl"));
  ASSERT_TRUE(eventually([&] { return last_train_step(root() / first) >= 5; }, 60s));
  EXPECT_EQ(state_of(jobs, second), "queued");  // still waiting while the first trains
  jobs.stop(first);
  ASSERT_TRUE(jobs.wait_until_ended(second, 120s));
  EXPECT_EQ(state_of(jobs, first), "stopped");
  EXPECT_EQ(state_of(jobs, second), "finished");
  EXPECT_EQ(jobs.jobs()["jobs"].size(), 3u);
}

TEST_F(JobManagerTest, DestructorStopsWhatItStarted) {
  pid_t pid = 0;
  {
    JobManager jobs(runs_.root(), SIEVE_BINARY, 2, testing::kTestThreads);
    const std::string run = jobs.launch(JobsRunsRoot::tiny_form("left-running", kLongSteps));
    ASSERT_TRUE(eventually([&] { return last_train_step(root() / run) >= 5; }, 60s));
    pid = jobs.status(run)->pid;
  }
  EXPECT_NE(::kill(pid, 0), 0);  // gone (and reaped)
  EXPECT_EQ(read_json(root() / "left-running" / "job.json")["state"], "stopped");
}

TEST_F(JobManagerTest, RemovedRunDirectoryStillLetsTheJobBeStopped) {
  JobManager jobs(runs_.root(), SIEVE_BINARY, 2, testing::kTestThreads);
  const std::string run = jobs.launch(JobsRunsRoot::tiny_form("doomed", kLongSteps));
  ASSERT_TRUE(eventually([&] { return last_train_step(root() / run) >= 5; }, 60s));
  fs::remove_all(root() / run);
  jobs.stop(run);
  ASSERT_TRUE(jobs.wait_until_ended(run, 60s));
  EXPECT_FALSE(jobs.status(run)->active());
  // The manager goes on.
  const std::string next = jobs.launch(JobsRunsRoot::tiny_form("next", 10));
  ASSERT_TRUE(jobs.wait_until_ended(next, 120s));
  EXPECT_EQ(jobs.status(next)->state, "finished");
}

TEST_F(JobManagerTest, ServicesStopEverythingWhenDestroyed) {
  pid_t pid = 0;
  {
    JobServices services(runs_.root(), SIEVE_BINARY, 2, testing::kTestThreads);
    json base = JobsRunsRoot::tiny_form("unused", 10);
    base.erase("name");
    services.searches.start_search({{"name", "search"},
                                    {"base", base},
                                    {"parameters", {{{"name", "lr"}, {"values", {1e-3}}}}},
                                    {"rungs", {kLongSteps}}});
    ASSERT_TRUE(eventually([&] { return last_train_step(root() / "search" / "trial-01") >= 5; }, 60s));
    pid = services.jobs.status("search/trial-01")->pid;
  }
  EXPECT_NE(::kill(pid, 0), 0);
  EXPECT_EQ(read_json(root() / "search" / "trial-01" / "job.json")["state"], "stopped");
  EXPECT_EQ(read_json(root() / "search" / "search.json")["state"], "stopped");
}

TEST_F(JobManagerTest, RestartSettlesRecordsOfVanishedProcesses) {
  {
    JobManager jobs(runs_.root(), SIEVE_BINARY, 2, testing::kTestThreads);
    const std::string run = jobs.launch(JobsRunsRoot::tiny_form("done", 10));
    ASSERT_TRUE(jobs.wait_until_ended(run, 120s));
  }
  // A dashboard that died while these ran: one had checkpointed, one had not.
  json record = read_json(root() / "done" / "job.json");
  record["state"] = "running";
  record["pid"] = INT_MAX - 1;  // no such process
  write_job_record(root() / "done", record);
  fs::create_directories(root() / "crashed");
  write_job_record(root() / "crashed", {{"state", "running"}, {"pid", INT_MAX - 1}});
  fs::create_directories(root() / "deep" / "search" / "waiting");
  write_job_record(root() / "deep" / "search" / "waiting", {{"state", "queued"}, {"pid", nullptr}});

  JobManager jobs(runs_.root(), SIEVE_BINARY, 2, testing::kTestThreads);
  EXPECT_EQ(state_of(jobs, "done"), "finished");  // its metrics reached the last step
  EXPECT_EQ(state_of(jobs, "crashed"), "failed");
  EXPECT_EQ(state_of(jobs, "deep/search/waiting"), "stopped");
  EXPECT_EQ(read_json(root() / "crashed" / "job.json")["state"], "failed");
}

TEST_F(JobManagerTest, RefusesWhatCannotBeDone) {
  JobManager jobs(runs_.root(), SIEVE_BINARY, 2, testing::kTestThreads);
  EXPECT_THROW(jobs.stop("nowhere"), RunNotFound);
  EXPECT_THROW(jobs.resume("nowhere"), RunNotFound);
  EXPECT_THROW(jobs.stop("../etc"), core::UserError);
  EXPECT_THROW(jobs.resume("a/../../b"), core::UserError);
  fs::create_directories(root() / "bare");
  EXPECT_THROW(jobs.stop("bare"), JobConflict);
  try {
    jobs.resume("bare");
    ADD_FAILURE() << "resumed a run without a command record";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("no command.json"), std::string::npos);
  }
  // A command record whose --out is elsewhere would train another directory.
  fs::create_directories(root() / "moved");
  std::ofstream(root() / "moved" / "command.json")
      << json{{"verb", "train"}, {"args", {"--out", "other", "--preset", "tiny"}}, {"cwd", root().string()}}.dump();
  EXPECT_THROW(jobs.resume("moved"), core::UserError);
  std::ofstream(root() / "moved" / "command.json")
      << json{{"verb", "rm"}, {"args", {"--out", "moved"}}, {"cwd", root().string()}}.dump();
  EXPECT_THROW(jobs.resume("moved"), core::UserError);
  EXPECT_THROW(jobs.launch(JobsRunsRoot::tiny_form("bare", 10)), core::UserError);  // exists
  EXPECT_THROW(JobManager(root() / "missing", SIEVE_BINARY, 2), core::UserError);
}

}  // namespace
}  // namespace sieve::dashboard
