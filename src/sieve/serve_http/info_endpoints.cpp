#include "sieve/serve_http/info_endpoints.h"

#include <fmt/format.h>

#include <algorithm>

#include "sieve/serve_http/http_reply.h"
#include "sieve/serve_http/openai_json.h"

namespace sieve::serve_http {
namespace {

bool is_known(const serve::Service& service, const std::string& name) {
  const std::vector<serve::ModelInfo> models = service.models();
  const std::vector<serve::RouteInfo> routes = service.routes();
  return std::any_of(models.begin(), models.end(), [&](const serve::ModelInfo& m) { return m.name == name; }) ||
         std::any_of(routes.begin(), routes.end(), [&](const serve::RouteInfo& r) { return r.name == name; });
}

// 200 when the whole server is ready; 503 before start-up loading ends and while draining.
void health(const serve::Service& service, httplib::Response& response) {
  const bool ready = service.ready();
  reply_json(response, ready ? 200 : 503, {{"status", ready ? "ok" : "unavailable"}});
}

// 200 when the model or route `name` takes requests, 503 when it does not now, 404 when unknown.
void model_health(const serve::Service& service, const std::string& name, httplib::Response& response) {
  if (service.serving(name)) {
    reply_json(response, 200, {{"status", "ok"}});
  } else if (is_known(service, name)) {
    reply_json(response, 503, {{"status", "unavailable"}});
  } else {
    reply_error(response,
                serve::Status::error(serve::Code::not_found, fmt::format("no model or route named '{}'", name)));
  }
}

}  // namespace

void add_info_routes(RouteTable& routes, const serve::Service& service) {
  routes.add("GET", "/v1/models", [&service](const HttpCall&, httplib::Response& response) {
    reply_json(response, 200, model_list_json(service.models(), service.routes()));
  });
  routes.add("GET", "/health", [&service](const HttpCall&, httplib::Response& response) { health(service, response); });
  routes.add("GET", "/health/{name}", [&service](const HttpCall& call, httplib::Response& response) {
    model_health(service, call.path_params[0], response);
  });
  routes.add("GET", "/metrics", [&service](const HttpCall&, httplib::Response& response) {
    response.set_content(service.metrics_text(), "text/plain; version=0.0.4");
  });
}

}  // namespace sieve::serve_http
