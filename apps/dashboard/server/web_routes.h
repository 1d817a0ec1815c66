// The web app's files (assets/web_assets.h) at / and /assets/{file}.
#pragma once

#include "sieve/serve_http/route_table.h"

namespace sieve::dashboard {

void add_web_routes(serve_http::RouteTable& routes);

}  // namespace sieve::dashboard
