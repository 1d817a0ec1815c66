#include "sieve/serve_http/server_listener.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>

#include "sieve/core/error.h"

namespace sieve::serve_http {

int bind_http_server(httplib::Server& server, const std::string& host, int port, std::string_view what) {
  errno = 0;
  const int bound = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    const int error = errno;
    core::throw_user_error("cannot serve {} on {}:{}{}", what, host, port,
                           error != 0 ? fmt::format(" ({})", std::strerror(error)) : "");
  }
  return bound;
}

std::thread run_accept_loop(httplib::Server& server) {
  auto ended = std::make_shared<std::atomic<bool>>(false);
  std::thread loop([&server, ended] {
    server.listen_after_bind();
    *ended = true;
  });
  while (!server.is_running() && !*ended) std::this_thread::yield();
  return loop;
}

}  // namespace sieve::serve_http
