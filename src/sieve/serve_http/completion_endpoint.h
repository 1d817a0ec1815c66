// POST /v1/completions, OpenAI's legacy text-completion API, over Service::submit.
#pragma once

#include "sieve/serve/service.h"
#include "sieve/serve_http/route_table.h"

namespace sieve::serve_http {

void add_completion_routes(RouteTable& routes, serve::Service& service);

}  // namespace sieve::serve_http
