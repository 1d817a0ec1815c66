// The read-only endpoints: GET /v1/models (OpenAI's list), GET /health and /health/NAME (for
// load balancers and orchestrators), GET /metrics (Prometheus).
#pragma once

#include "sieve/serve/service.h"
#include "sieve/serve_http/route_table.h"

namespace sieve::serve_http {

void add_info_routes(RouteTable& routes, const serve::Service& service);

}  // namespace sieve::serve_http
