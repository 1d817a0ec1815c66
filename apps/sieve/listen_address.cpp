#include "apps/sieve/listen_address.h"

#include <cstdio>

#include "sieve/core/error.h"

namespace sieve::apps {

std::pair<std::string, int> parse_listen_address(const std::string& text, const char* flag, const char* verb) {
  const auto colon = text.rfind(':');
  SIEVE_USER_CHECK(colon != std::string::npos && colon > 0, "{} takes HOST:PORT, got '{}'", flag, text);
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  try {
    std::size_t used = 0;
    port = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
  }
  SIEVE_USER_CHECK(port >= 0 && port <= 65535, "{}: bad port in '{}'", flag, text);
  if (host != "127.0.0.1" && host != "localhost" && host != "::1")
    std::fprintf(stderr, "%s: warning: %s %s is reachable beyond this machine\n", verb, flag, text.c_str());
  return std::make_pair(host, port);
}

}  // namespace sieve::apps
