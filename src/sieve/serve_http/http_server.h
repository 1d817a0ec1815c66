// The HTTP face of a Service: OpenAI's completions and models API, health, Prometheus metrics
// and the admin API (see the *_endpoints.h files), served by cpp-httplib on its own threads.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "sieve/serve/service.h"

namespace sieve::serve_http {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                          // 0: pick a free port (see HttpServer::port)
  std::size_t max_request_bytes = 1 << 20;  // a larger body answers 413
  // Threads serving connections (at least 1). Each open connection holds one while it lives (a
  // streaming completion for all of it), so this bounds the concurrent clients; others queue.
  int io_threads = 64;
  // Null: admin calls answer 401 saying the admin API is off (start with --admin-token-file).
  const serve::AdminToken* admin_token = nullptr;
};

class HttpServer {
 public:
  // `service` (and the admin token) must outlive the server.
  HttpServer(serve::Service& service, HttpServerOptions options);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and serves on a thread of its own; connections queue from its return on. Throws
  // core::UserError naming the address when it cannot bind.
  void start();
  // The bound port (the picked one when options.port was 0); 0 before start().
  int port() const;
  // Stops accepting, ends open streams (their completions are cancelled) and waits for the
  // requests in progress. Call Service::drain first for a graceful shutdown. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sieve::serve_http
