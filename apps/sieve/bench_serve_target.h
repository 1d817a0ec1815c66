// The server `sieve bench serve` drives: a protocol and a loopback address. The load generator
// only ever talks to this machine, so any other host is refused before a request is sent.
#pragma once

#include <string>

namespace sieve::apps {

enum class ServeProtocol { http, grpc };

struct ServeTarget {
  ServeProtocol protocol = ServeProtocol::http;
  std::string host;  // "127.0.0.1", "::1" (no brackets) or "localhost"
  int port = 0;

  // "127.0.0.1:8080", "[::1]:8080": what a gRPC target or a log line names.
  std::string address() const;
  const char* protocol_name() const;  // "http", "grpc"
};

// Parses HOST:PORT (IPv6 as [::1]:PORT) given to `flag` ("--http", "--grpc"). Throws
// core::UserError for a malformed address, a port outside 1..65535 or a host that is not
// 127.0.0.1, ::1 or localhost.
ServeTarget parse_loopback_target(ServeProtocol protocol, const std::string& flag, const std::string& value);

}  // namespace sieve::apps
