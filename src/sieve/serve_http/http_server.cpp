#include "sieve/serve_http/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <thread>

#include "sieve/core/error.h"
#include "sieve/serve_http/admin_endpoints.h"
#include "sieve/serve_http/completion_endpoint.h"
#include "sieve/serve_http/http_reply.h"
#include "sieve/serve_http/info_endpoints.h"
#include "sieve/serve_http/route_table.h"
#include "sieve/serve_http/server_listener.h"

namespace sieve::serve_http {
namespace {

// httplib matches paths with std::regex, whose libstdc++ matcher recurses once per character;
// a bound on the path keeps that far from the stack's size. No endpoint needs more.
constexpr std::size_t kMaxPathBytes = 1024;

// Past the size limit, this much more of a chunked body is read and dropped, so that the client,
// still sending, reads the 413 instead of a connection reset; a longer one is cut off.
constexpr std::size_t kMaxDrainBytes = 16 << 20;

// The body, read through `reader` up to `limit` bytes; `error_status` 413 when it is larger, 400
// when it could not be read. A request that declares no body (neither a Content-Length nor
// chunked encoding) has none: httplib would otherwise read until the client closes.
struct Body {
  std::string text;
  int error_status = 0;
};

Body read_body(const httplib::Request& request, const httplib::ContentReader& reader, std::size_t limit) {
  Body body;
  const bool chunked = request.get_header_value("Transfer-Encoding") == "chunked";
  if (!request.has_header("Content-Length") && !chunked) return body;
  std::size_t received = 0;
  const bool read = reader([&](const char* data, std::size_t size) {
    received += size;
    if (received <= limit) body.text.append(data, size);
    return received <= limit || received - limit <= kMaxDrainBytes;
  });
  if (received > limit || request.get_header_value<std::uint64_t>("Content-Length") > limit)
    body.error_status = 413;
  else if (!read)
    body.error_status = 400;
  return body;
}

// What the statuses httplib answers by itself mean, for the JSON body it does not give them.
std::string httplib_error_message(int status) {
  switch (status) {
    case 400: return "the request is malformed";
    case 414: return "the request line is too long";
    case 415: return "the request's content encoding is not supported";
    case 416: return "the Range header cannot be satisfied";
    default: return fmt::format("the request failed with HTTP status {}", status);
  }
}

}  // namespace

// httplib's server with a listen backlog fit for a server. The library listens with a backlog of
// 5 (compiled into Debian's libcpp-httplib), so a burst of clients connecting at once overflows
// it and the kernel drops their handshakes: a second's retransmission each, or a failed request.
class BacklogListener : public httplib::Server {
 public:
  // After a bind; listen() again on a listening socket only changes its backlog (should it fail,
  // the old one stays, which serves, only worse).
  void widen_backlog() { ::listen(svr_sock_.load(), SOMAXCONN); }
};

struct HttpServer::Impl {
  Impl(serve::Service& service, HttpServerOptions options_in) : options(std::move(options_in)) {
    SIEVE_USER_CHECK(options.io_threads >= 1, "the HTTP server needs at least one I/O thread (got {})",
                     options.io_threads);
    SIEVE_USER_CHECK(options.max_request_bytes >= 1, "the HTTP request size limit must be at least one byte");
    add_completion_routes(routes, service);
    add_info_routes(routes, service);
    add_admin_routes(routes, service, options.admin_token);
    configure();
  }

  void configure();
  void answer_with_body(const httplib::Request& request, httplib::Response& response,
                        const httplib::ContentReader& reader) const;

  HttpServerOptions options;
  RouteTable routes;
  BacklogListener server;
  std::thread listener;
  int port = 0;
};

void HttpServer::Impl::answer_with_body(const httplib::Request& request, httplib::Response& response,
                                        const httplib::ContentReader& reader) const {
  const Body body = read_body(request, reader, options.max_request_bytes);
  if (body.error_status == 413) {
    response.set_header("Connection", "close");
    reply_http_error(
        response, 413, "request_too_large",
        fmt::format("the request body is larger than this server's limit of {} bytes", options.max_request_bytes));
  } else if (body.error_status != 0) {
    reply_http_error(response, 400, "invalid_request", "the request body could not be read");
  } else {
    routes.dispatch(request, body.text, response);
  }
}

void HttpServer::Impl::configure() {
  const auto threads = static_cast<std::size_t>(options.io_threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(options.max_request_bytes);
  server.set_tcp_nodelay(true);  // a streamed token is one small write; do not hold it back
  // httplib's default also sets SO_REUSEPORT, which would let a second server share (and split)
  // a port already in use instead of failing to bind; SO_REUSEADDR alone allows a quick restart.
  server.set_socket_options([](socket_t socket) {
    const int yes = 1;
    ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server.set_pre_routing_handler([](const httplib::Request& request, httplib::Response& response) {
    if (request.path.size() <= kMaxPathBytes) return httplib::Server::HandlerResponse::Unhandled;
    response.set_header("Connection", "close");
    reply_http_error(response, 414, "uri_too_long", fmt::format("the path is longer than {} bytes", kMaxPathBytes));
    return httplib::Server::HandlerResponse::Handled;
  });
  const auto without_body = [this](const httplib::Request& request, httplib::Response& response) {
    routes.dispatch(request, "", response);
  };
  const auto with_body = [this](const httplib::Request& request, httplib::Response& response,
                                const httplib::ContentReader& reader) { answer_with_body(request, response, reader); };
  server.Get(".*", without_body).Options(".*", without_body);
  server.Post(".*", with_body).Put(".*", with_body).Patch(".*", with_body).Delete(".*", with_body);
  // Errors httplib answers itself (a malformed request line, a bad Range) get the JSON body too.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& response) {
        if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        reply_http_error(response, response.status, "invalid_request", httplib_error_message(response.status));
        return httplib::Server::HandlerResponse::Handled;
      }));
}

HttpServer::HttpServer(serve::Service& service, HttpServerOptions options)
    : impl_(std::make_unique<Impl>(service, std::move(options))) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  SIEVE_CHECK(!impl_->listener.joinable(), "HttpServer::start called twice");
  impl_->port = bind_http_server(impl_->server, impl_->options.host, impl_->options.port, "HTTP");
  impl_->server.widen_backlog();
  impl_->listener = run_accept_loop(impl_->server);
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::stop() {
  if (!impl_->listener.joinable()) return;
  impl_->server.stop();
  impl_->listener.join();
}

}  // namespace sieve::serve_http
