// The HTTP routes: method + path pattern → handler. httplib hands every request to dispatch(),
// which answers what httplib's own routing would not: 405 (with Allow) for a known path under
// another method, 404 for an unknown path, and an error JSON for a handler's exception.
#pragma once

#include <httplib.h>

#include <functional>
#include <string>
#include <vector>

namespace sieve::serve_http {

// One request as a handler sees it: the body is read already (and bounded), and `path_params`
// holds the path segments that the pattern's "{...}" segments matched.
struct HttpCall {
  const httplib::Request& request;
  const std::string& body;
  std::vector<std::string> path_params;
};

using RouteHandler = std::function<void(const HttpCall& call, httplib::Response& response)>;

class RouteTable {
 public:
  // `pattern` is a path whose "{name}" segments each match one non-empty segment ("/health/{name}");
  // it must match the whole path. Segments are matched percent-decoded, so "%2F" is a slash
  // inside one segment. A GET route answers HEAD too.
  void add(const std::string& method, const std::string& pattern, RouteHandler handler);

  // Runs the matching handler. BadRequest and core::UserError become 400, any other exception 500.
  void dispatch(const httplib::Request& request, const std::string& body, httplib::Response& response) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    RouteHandler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace sieve::serve_http
