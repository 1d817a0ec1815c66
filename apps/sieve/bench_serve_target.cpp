#include "apps/sieve/bench_serve_target.h"

#include <charconv>

#include "sieve/core/error.h"

namespace sieve::apps {

std::string ServeTarget::address() const {
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return shown + ":" + std::to_string(port);
}

const char* ServeTarget::protocol_name() const { return protocol == ServeProtocol::http ? "http" : "grpc"; }

ServeTarget parse_loopback_target(ServeProtocol protocol, const std::string& flag, const std::string& value) {
  const std::size_t colon = value.rfind(':');
  SIEVE_USER_CHECK(colon != std::string::npos && colon > 0 && colon + 1 < value.size(),
                   "{} {}: expected HOST:PORT, e.g. 127.0.0.1:8080", flag, value);
  std::string host = value.substr(0, colon);
  const std::string port_text = value.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  SIEVE_USER_CHECK(host == "127.0.0.1" || host == "::1" || host == "localhost",
                   "{} {}: sieve bench serve only sends load to this machine; the host must be 127.0.0.1, [::1] or "
                   "localhost",
                   flag, value);
  int port = 0;
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  SIEVE_USER_CHECK(error == std::errc() && end == port_text.data() + port_text.size() && port >= 1 && port <= 65535,
                   "{} {}: the port must be a number in 1..65535", flag, value);
  return {protocol, host, port};
}

}  // namespace sieve::apps
