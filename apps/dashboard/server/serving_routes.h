// GET /api/serving: the `sieve serve` instances the dashboard watches (--serve), their per-variant
// metrics and their recent history.
#pragma once

#include "apps/dashboard/serving/serving_watch.h"
#include "sieve/serve_http/route_table.h"

namespace sieve::dashboard {

void add_serving_routes(serve_http::RouteTable& routes, const ServingWatch& watch);

}  // namespace sieve::dashboard
