// Routes that start and stop work: launching a run from the form, stopping and resuming a run,
// hyperparameter searches (POST needs the token; GET lists them), and the jobs' live states.
#pragma once

#include "apps/dashboard/jobs/job_services.h"
#include "sieve/serve/service.h"
#include "sieve/serve_http/route_table.h"

namespace sieve::dashboard {

// `jobs` and `token` must outlive the routes.
void add_job_routes(serve_http::RouteTable& routes, JobServices& jobs, const serve::AdminToken& token);

}  // namespace sieve::dashboard
