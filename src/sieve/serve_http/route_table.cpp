#include "sieve/serve_http/route_table.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <optional>
#include <set>
#include <string_view>

#include "sieve/core/error.h"
#include "sieve/serve_http/http_reply.h"

namespace sieve::serve_http {
namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    segments.emplace_back(path.substr(start, slash - start));
    if (slash == std::string_view::npos) return segments;
    start = slash + 1;
  }
}

// The request path's segments, each percent-decoded after the split, so that an encoded slash
// ("%2F", as in a model id "org/model") stays inside its segment. httplib's `path` is decoded
// whole; its `target` keeps the request line's form.
std::vector<std::string> request_segments(const httplib::Request& request) {
  if (request.target.empty()) return split_path(request.path);
  const std::string_view target = request.target;
  std::vector<std::string> segments = split_path(target.substr(0, target.find('?')));
  for (std::string& segment : segments) segment = httplib::detail::decode_url(segment, false);
  return segments;
}

bool is_placeholder(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// The segments the placeholders matched, or nullopt when `path` does not match the pattern.
std::optional<std::vector<std::string>> match_path(const std::vector<std::string>& pattern,
                                                   const std::vector<std::string>& path) {
  if (pattern.size() != path.size()) return std::nullopt;
  std::vector<std::string> params;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (!is_placeholder(pattern[i])) {
      if (pattern[i] != path[i]) return std::nullopt;
    } else if (path[i].empty()) {
      return std::nullopt;
    } else {
      params.push_back(path[i]);
    }
  }
  return params;
}

// Runs a handler; an exception becomes the error it stands for.
void run(const RouteHandler& handler, const HttpCall& call, httplib::Response& response) {
  try {
    handler(call, response);
  } catch (const BadRequest& error) {
    reply_error(response, serve::Status::error(serve::Code::invalid_argument, error.what()), error.param());
  } catch (const core::UserError& error) {
    reply_error(response, serve::Status::error(serve::Code::invalid_argument, error.what()));
  } catch (const std::exception& error) {
    reply_error(response, serve::Status::error(serve::Code::internal, error.what()));
  }
}

}  // namespace

void RouteTable::add(const std::string& method, const std::string& pattern, RouteHandler handler) {
  routes_.push_back({method, split_path(pattern), std::move(handler)});
}

void RouteTable::dispatch(const httplib::Request& request, const std::string& body, httplib::Response& response) const {
  const std::string method = request.method == "HEAD" ? "GET" : request.method;
  const std::vector<std::string> path = request_segments(request);
  std::set<std::string> allowed;  // methods of the routes whose pattern matches the path
  for (const Route& route : routes_) {
    std::optional<std::vector<std::string>> params = match_path(route.segments, path);
    if (!params) continue;
    if (route.method != method) {
      allowed.insert(route.method);
      continue;
    }
    run(route.handler, HttpCall{request, body, std::move(*params)}, response);
    return;
  }
  if (allowed.empty()) {
    reply_http_error(response, 404, "not_found", fmt::format("no such endpoint: {} {}", request.method, request.path));
    return;
  }
  if (allowed.count("GET")) allowed.insert("HEAD");
  response.set_header("Allow", fmt::format("{}", fmt::join(allowed, ", ")));
  reply_http_error(
      response, 405, "method_not_allowed",
      fmt::format("{} does not take {} (it takes {})", request.path, request.method, fmt::join(allowed, ", ")));
}

}  // namespace sieve::serve_http
