#include "apps/dashboard/server/serving_routes.h"

#include "sieve/serve_http/http_reply.h"

namespace sieve::dashboard {

void add_serving_routes(serve_http::RouteTable& routes, const ServingWatch& watch) {
  routes.add("GET", "/api/serving", [&watch](const serve_http::HttpCall&, httplib::Response& response) {
    serve_http::reply_json(response, 200, watch.view());
  });
}

}  // namespace sieve::dashboard
