#include "apps/dashboard/server/web_routes.h"

#include "apps/dashboard/assets/web_assets.h"
#include "sieve/serve_http/http_reply.h"

namespace sieve::dashboard {
namespace {

// The app's own scripts and styles only: no other origin can be loaded from, or framed into.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

void reply_asset(const std::string& path, httplib::Response& response) {
  const WebAsset* asset = find_web_asset(path);
  if (asset == nullptr) {
    serve_http::reply_http_error(response, 404, "not_found", "no such file: " + path);
    return;
  }
  response.set_content(std::string(asset->body), std::string(asset->content_type));
  response.set_header("Content-Security-Policy", kContentSecurityPolicy);
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Cache-Control", "no-cache");
}

}  // namespace

void add_web_routes(serve_http::RouteTable& routes) {
  routes.add("GET", "/", [](const serve_http::HttpCall&, httplib::Response& response) { reply_asset("/", response); });
  routes.add("GET", "/assets/{file}", [](const serve_http::HttpCall& call, httplib::Response& response) {
    reply_asset("/assets/" + call.path_params[0], response);
  });
}

}  // namespace sieve::dashboard
