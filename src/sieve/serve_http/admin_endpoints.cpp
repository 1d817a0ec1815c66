#include "sieve/serve_http/admin_endpoints.h"

#include <fmt/format.h>

#include <algorithm>

#include "sieve/serve_http/http_reply.h"
#include "sieve/serve_http/json_fields.h"
#include "sieve/serve_http/openai_json.h"

namespace sieve::serve_http {
namespace {

// True when the call carries the admin token; otherwise answers 401 and returns false.
bool authorized(const serve::AdminToken* token, const httplib::Request& request, httplib::Response& response) {
  if (token != nullptr && token->accepts(request.get_header_value("Authorization"))) return true;
  const std::string message =
      token == nullptr ? "the admin API is off (start the server with --admin-token-file)"
                       : "admin calls need the header 'Authorization: Bearer <token>' with the server's admin token";
  response.set_header("WWW-Authenticate", "Bearer");
  reply_error(response, serve::Status::error(serve::Code::unauthenticated, message));
  return false;
}

// The directory a reload names; empty (no body, or no "directory"): the serving one's.
std::string requested_directory(const std::string& body) {
  if (body.empty()) return "";
  const std::optional<std::string> directory = string_field(parse_json_object(body), "directory");
  if (directory && directory->empty())
    throw BadRequest("'directory' must not be empty (leave it out to reload the serving directory)", "directory");
  return directory.value_or("");
}

// POST /admin/models/{name} {"directory": DIR}.
void reload_model(serve::Service& service, const HttpCall& call, httplib::Response& response) {
  serve::ModelInfo loaded;
  const serve::Status status = service.reload_model(call.path_params[0], requested_directory(call.body), &loaded);
  if (!status.ok()) {
    reply_error(response, status);
    return;
  }
  reply_json(response, 200, model_info_json(loaded));
}

// PUT /admin/routes/{name} {"spec": "a:90,b:10[,shadow=c]"}.
void set_route(serve::Service& service, const HttpCall& call, httplib::Response& response) {
  const std::optional<std::string> spec = string_field(parse_json_object(call.body), "spec");
  if (!spec) throw BadRequest("'spec' is required (\"a:90,b:10\", optionally \",shadow=c\")", "spec");
  const std::string& name = call.path_params[0];
  const serve::Status status = service.set_route(name, *spec);
  if (!status.ok()) {
    reply_error(response, status, "spec");
    return;
  }
  const std::vector<serve::RouteInfo> routes = service.routes();
  const auto route =
      std::find_if(routes.begin(), routes.end(), [&](const serve::RouteInfo& r) { return r.name == name; });
  reply_json(response, 200, route_info_json(route != routes.end() ? *route : serve::RouteInfo{name, *spec}));
}

void experiment(const serve::Service& service, const HttpCall& call, httplib::Response& response) {
  const std::string& name = call.path_params[0];
  const std::optional<nlohmann::json> summary = service.experiment(name);
  if (!summary) {
    reply_error(response, serve::Status::error(serve::Code::not_found, fmt::format("no route named '{}'", name)));
    return;
  }
  reply_json(response, 200, *summary);
}

// The handler, run only for callers that carry the token.
RouteHandler guarded(const serve::AdminToken* token, RouteHandler handler) {
  return [token, handler = std::move(handler)](const HttpCall& call, httplib::Response& response) {
    if (authorized(token, call.request, response)) handler(call, response);
  };
}

}  // namespace

void add_admin_routes(RouteTable& routes, serve::Service& service, const serve::AdminToken* token) {
  routes.add("POST", "/admin/models/{name}",
             guarded(token, [&service](const HttpCall& call, httplib::Response& response) {
               reload_model(service, call, response);
             }));
  routes.add("PUT", "/admin/routes/{name}",
             guarded(token, [&service](const HttpCall& call, httplib::Response& response) {
               set_route(service, call, response);
             }));
  routes.add("GET", "/admin/experiments/{name}",
             guarded(token, [&service](const HttpCall& call, httplib::Response& response) {
               experiment(service, call, response);
             }));
}

}  // namespace sieve::serve_http
