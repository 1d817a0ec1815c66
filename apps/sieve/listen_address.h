// The HOST:PORT flags of the verbs that listen (`sieve serve --http/--grpc`, `sieve dashboard
// --listen`).
#pragma once

#include <string>
#include <utility>

namespace sieve::apps {

// "HOST:PORT" (or "[::1]:PORT") → (HOST, PORT); `flag` names the option in errors. Warns on
// stderr, naming `verb`, when HOST is not a loopback address.
std::pair<std::string, int> parse_listen_address(const std::string& text, const char* flag, const char* verb);

}  // namespace sieve::apps
