// The outcome of a serving call, in one vocabulary for both protocols: each adapter maps a Code
// to its own status (HTTP status, gRPC StatusCode) and sends the message as the error text.
#pragma once

#include <string>

namespace sieve::serve {

enum class Code {
  ok,
  invalid_argument,     // a malformed request or a parameter out of range (400 / INVALID_ARGUMENT)
  not_found,            // no such model or route (404 / NOT_FOUND)
  resource_exhausted,   // the queue is full; retry later (429 / RESOURCE_EXHAUSTED)
  unavailable,          // not ready yet, or draining for shutdown (503 / UNAVAILABLE)
  unauthenticated,      // an admin call without the right bearer token (401 / UNAUTHENTICATED)
  failed_precondition,  // a new model version failed validation; the old one serves on (422 / FAILED_PRECONDITION)
  deadline_exceeded,    // the request's deadline passed (504 / DEADLINE_EXCEEDED)
  cancelled,            // the client went away (499 / CANCELLED)
  internal,             // a bug in Sieve (500 / INTERNAL)
};

struct Status {
  Code code = Code::ok;
  std::string message;

  bool ok() const { return code == Code::ok; }
  static Status error(Code code, std::string message) { return {code, std::move(message)}; }
};

// "invalid_argument", ... (for logs and JSON error bodies).
const char* code_name(Code code);
// The HTTP status an adapter answers with.
int http_status(Code code);

}  // namespace sieve::serve
