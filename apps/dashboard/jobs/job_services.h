// The dashboard's job side in one object: the job manager and the searches and try-it trials
// that use it, built and destroyed in the right order (trials and searches stop before the
// manager stops the processes). The HTTP server holds one and maps the exceptions: core::UserError
// to 400, RunNotFound to 404, JobConflict to 409.
#pragma once

#include <filesystem>

#include "apps/dashboard/jobs/job_manager.h"
#include "apps/dashboard/jobs/search_manager.h"
#include "apps/dashboard/jobs/try_it.h"

namespace sieve::dashboard {

struct JobServices {
  // `cores`: training processes at once (the cores to spare); see JobManager.
  JobServices(const std::filesystem::path& runs_root, const std::filesystem::path& sieve_binary, int cores,
              int threads_per_job = 0)
      : jobs(runs_root, sieve_binary, cores, threads_per_job), searches(jobs), tries(jobs) {}

  JobManager jobs;  // declared first: destroyed last
  SearchManager searches;
  TryItManager tries;
};

}  // namespace sieve::dashboard
