#include "apps/dashboard/server/dashboard_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <thread>

#include "apps/dashboard/jobs/job_services.h"
#include "apps/dashboard/runs/run_catalog.h"
#include "apps/dashboard/serving/serving_watch.h"
#include "apps/dashboard/server/advice_routes.h"
#include "apps/dashboard/server/job_routes.h"
#include "apps/dashboard/server/run_routes.h"
#include "apps/dashboard/server/serving_routes.h"
#include "apps/dashboard/server/web_routes.h"
#include "sieve/core/error.h"
#include "sieve/serve/service.h"
#include "sieve/serve_http/http_reply.h"
#include "sieve/serve_http/route_table.h"
#include "sieve/serve_http/server_listener.h"

namespace sieve::dashboard {
namespace {

constexpr std::size_t kMaxRequestBytes = 1 << 20;
constexpr std::size_t kMaxPathBytes = 2048;
constexpr std::size_t kIoThreads = 16;

int machine_cores() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

bool is_loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }

// The host part of a Host header ("127.0.0.1:8787", "[::1]:8787", "localhost").
std::string host_name(const std::string& header) {
  if (header.starts_with('[')) return header.substr(1, header.find(']') - 1);
  return header.substr(0, header.find(':'));
}

}  // namespace

struct DashboardServer::Impl {
  explicit Impl(DashboardOptions options_in)
      : options(std::move(options_in)),
        catalog(options.runs),
        token(serve::AdminToken::random()),
        jobs(catalog.root(), options.sieve_binary, options.cores > 0 ? options.cores : machine_cores(),
             options.threads_per_run),
        serving(options.serve_urls) {
    add_run_routes(routes, catalog, [this](const std::string& run) { return live_state(run); }, options.results);
    add_advice_routes(routes, catalog, jobs.tries, token);
    add_job_routes(routes, jobs, token);
    add_serving_routes(routes, serving);
    add_web_routes(routes);
    configure();
  }

  // What the job manager knows of a run it launched (empty: nothing; the files tell).
  std::string live_state(const std::string& run) const {
    const std::optional<JobStatus> status = jobs.jobs.status(run);
    return status ? status->state : "";
  }

  void configure();

  DashboardOptions options;
  RunCatalog catalog;
  serve::AdminToken token;
  JobServices jobs;
  ServingWatch serving;
  serve_http::RouteTable routes;
  httplib::Server server;
  std::thread listener;
  int port = 0;
};

void DashboardServer::Impl::configure() {
  server.new_task_queue = [] { return new httplib::ThreadPool(kIoThreads); };
  server.set_payload_max_length(kMaxRequestBytes);
  server.set_socket_options([](socket_t socket) {
    const int yes = 1;
    ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // On loopback, a page of another site that a DNS name was re-pointed to 127.0.0.1 for must
  // not read the API: requests must name a loopback host.
  const bool loopback = is_loopback(options.host);
  server.set_pre_routing_handler([loopback](const httplib::Request& request, httplib::Response& response) {
    if (request.path.size() > kMaxPathBytes) {
      serve_http::reply_http_error(response, 414, "uri_too_long", "the path is too long");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (loopback && !is_loopback(host_name(request.get_header_value("Host")))) {
      serve_http::reply_http_error(response, 403, "forbidden",
                                   "this dashboard answers only requests addressed to a loopback host");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  const auto dispatch = [this](const httplib::Request& request, httplib::Response& response) {
    routes.dispatch(request, request.body, response);
  };
  server.Get(".*", dispatch).Post(".*", dispatch).Put(".*", dispatch).Delete(".*", dispatch);
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& response) {
        if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        serve_http::reply_http_error(response, response.status, "invalid_request",
                                     response.status == 413 ? "the request body is larger than a megabyte"
                                                            : "the request could not be served");
        return httplib::Server::HandlerResponse::Handled;
      }));
}

DashboardServer::DashboardServer(DashboardOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

DashboardServer::~DashboardServer() { stop(); }

void DashboardServer::start() {
  SIEVE_CHECK(!impl_->listener.joinable(), "DashboardServer::start called twice");
  impl_->port = serve_http::bind_http_server(impl_->server, impl_->options.host, impl_->options.port, "the dashboard");
  impl_->listener = serve_http::run_accept_loop(impl_->server);
}

int DashboardServer::port() const { return impl_->port; }

const std::string& DashboardServer::token() const { return impl_->token.text(); }

std::string DashboardServer::url() const {
  const std::string& host = impl_->options.host;
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return fmt::format("http://{}:{}/?token={}", shown, impl_->port, token());
}

void DashboardServer::stop() {
  if (!impl_->listener.joinable()) return;
  impl_->server.stop();
  impl_->listener.join();
}

}  // namespace sieve::dashboard
