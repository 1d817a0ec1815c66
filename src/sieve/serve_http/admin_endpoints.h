// The admin API, behind a bearer token: POST /admin/models/{name} (hot reload), PUT
// /admin/routes/{name} (create or replace an A/B split), GET /admin/experiments/{name} (a
// route's per-variant summary).
#pragma once

#include "sieve/serve/service.h"
#include "sieve/serve_http/route_table.h"

namespace sieve::serve_http {

// `token` null: the admin API is off and every admin call answers 401 saying how to turn it on.
// Otherwise a call without `Authorization: Bearer <token>` answers 401 with WWW-Authenticate.
void add_admin_routes(RouteTable& routes, serve::Service& service, const serve::AdminToken* token);

}  // namespace sieve::serve_http
