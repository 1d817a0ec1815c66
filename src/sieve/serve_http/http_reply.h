// How the HTTP adapter answers: JSON bodies, and errors in OpenAI's shape
// ({"error":{"message","type","param","code"}}) for every non-2xx status, whichever handler
// (or httplib itself) produced it.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "sieve/serve/status.h"

namespace sieve::serve_http {

// A request the handler cannot act on (malformed JSON, a field of the wrong type): the route
// table answers 400 with `param` naming the offending field (empty: none).
class BadRequest : public std::runtime_error {
 public:
  BadRequest(const std::string& message, std::string param = "")
      : std::runtime_error(message), param_(std::move(param)) {}
  const std::string& param() const { return param_; }

 private:
  std::string param_;
};

// JSON text for the wire; invalid UTF-8 (in model output or echoed input) is replaced, never thrown.
std::string to_wire(const nlohmann::json& value);

// OpenAI's error object for `status` (type "invalid_request_error" for 4xx, "server_error" for
// 5xx; code: the Code's name), `param` null when empty.
nlohmann::json error_json(const serve::Status& status, const std::string& param = "");

void reply_json(httplib::Response& response, int http_status, const nlohmann::json& body);
// http_status(status.code) with error_json as the body.
void reply_error(httplib::Response& response, const serve::Status& status, const std::string& param = "");
// The same for an HTTP status that has no Code (405, 413, ...): the code is `code_name`.
void reply_http_error(httplib::Response& response, int http_status, const std::string& code_name,
                      const std::string& message);

}  // namespace sieve::serve_http
