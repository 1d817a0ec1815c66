// GET routes of the advisor: a run's suggestions (the same as `sieve advise`), and the machine
// profile they are judged against.
#pragma once

#include "apps/dashboard/runs/run_catalog.h"
#include "sieve/serve_http/route_table.h"

namespace sieve::dashboard {

void add_advice_routes(serve_http::RouteTable& routes, RunCatalog& catalog);

}  // namespace sieve::dashboard
