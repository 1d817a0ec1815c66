// Starting a cpp-httplib server the way Sieve's servers do: bind first (so a busy port is a clear
// error before anything runs), then the accept loop on a thread of its own.
#pragma once

#include <httplib.h>

#include <string>
#include <string_view>
#include <thread>

namespace sieve::serve_http {

// Binds `server` to host:port (port 0: a free one) and returns the bound port. Throws
// core::UserError "cannot serve <what> on host:port (reason)" when it cannot.
int bind_http_server(httplib::Server& server, const std::string& host, int port, std::string_view what);

// Runs the bound server's accept loop on a new thread; returns once the loop runs (or has
// already ended), so that a prompt server.stop() is not lost. Join the thread after stop().
std::thread run_accept_loop(httplib::Server& server);

}  // namespace sieve::serve_http
