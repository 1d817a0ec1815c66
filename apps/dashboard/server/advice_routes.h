// The advisor's routes: a run's suggestions (the same as `sieve advise`), the machine profile
// they are judged against, and "Try it" — a suggestion of a run measured by a short A/B run
// (POST, with the token).
#pragma once

#include "apps/dashboard/jobs/try_it.h"
#include "apps/dashboard/runs/run_catalog.h"
#include "sieve/serve/service.h"
#include "sieve/serve_http/route_table.h"

namespace sieve::dashboard {

// Everything passed must outlive the routes.
void add_advice_routes(serve_http::RouteTable& routes, RunCatalog& catalog, TryItManager& tries,
                       const serve::AdminToken& token);

}  // namespace sieve::dashboard
