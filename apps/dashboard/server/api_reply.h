// Helpers the dashboard's routes share: the JSON body of a request, the errors a run lookup
// raises turned into 404, and the token check of write requests.
#pragma once

#include <nlohmann/json.hpp>

#include "sieve/serve/service.h"
#include "sieve/serve_http/route_table.h"

namespace sieve::dashboard {

// The body as a JSON object; serve_http::BadRequest (400) when it is not one.
nlohmann::json json_body(const serve_http::HttpCall& call);

// `handler` with RunNotFound answered as 404.
serve_http::RouteHandler finding_runs(serve_http::RouteHandler handler);

// `handler` only for requests whose Authorization header carries `token`; others get 401.
serve_http::RouteHandler requiring_token(const serve::AdminToken& token, serve_http::RouteHandler handler);

}  // namespace sieve::dashboard
