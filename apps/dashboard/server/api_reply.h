// Helpers the dashboard's routes share: the JSON body of a request, the errors of run lookups and
// job requests turned into 404 and 409, and the token check of write requests.
#pragma once

#include <nlohmann/json.hpp>

#include "sieve/serve/service.h"
#include "sieve/serve_http/route_table.h"

namespace sieve::dashboard {

// The body as a JSON object; serve_http::BadRequest (400) when it is not one.
nlohmann::json json_body(const serve_http::HttpCall& call);

// `handler` with an unknown run, search or trial answered as 404 and a request the job's state
// does not allow (jobs/JobConflict) as 409.
serve_http::RouteHandler finding_runs(serve_http::RouteHandler handler);

// `handler` only for requests whose Authorization header carries `token`; others get 401.
serve_http::RouteHandler requiring_token(const serve::AdminToken& token, serve_http::RouteHandler handler);

}  // namespace sieve::dashboard
