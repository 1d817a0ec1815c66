// GET routes over the runs: the list, a run's page, its metrics from an index on (the page polls
// them), the comparison of several runs, and the results tables.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "apps/dashboard/runs/run_catalog.h"
#include "sieve/serve_http/route_table.h"

namespace sieve::dashboard {

// `catalog` must outlive the routes. `overlay` gives the state the job manager knows of a run it
// started ("running", ...), which replaces the files' view, or an empty string for other runs.
using StatusOverlay = std::function<std::string(const std::string& run)>;
void add_run_routes(serve_http::RouteTable& routes, RunCatalog& catalog, StatusOverlay overlay,
                    std::filesystem::path results_file);

}  // namespace sieve::dashboard
