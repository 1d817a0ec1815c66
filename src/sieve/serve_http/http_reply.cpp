#include "sieve/serve_http/http_reply.h"

namespace sieve::serve_http {
namespace {

nlohmann::json error_object(int http_status, const std::string& code, const std::string& message,
                            const std::string& param) {
  return {{"error",
           {{"message", message},
            {"type", http_status >= 500 ? "server_error" : "invalid_request_error"},
            {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
            {"code", code}}}};
}

}  // namespace

std::string to_wire(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json error_json(const serve::Status& status, const std::string& param) {
  return error_object(serve::http_status(status.code), serve::code_name(status.code), status.message, param);
}

void reply_json(httplib::Response& response, int http_status, const nlohmann::json& body) {
  response.status = http_status;
  response.set_content(to_wire(body), "application/json");
}

void reply_error(httplib::Response& response, const serve::Status& status, const std::string& param) {
  reply_json(response, serve::http_status(status.code), error_json(status, param));
}

void reply_http_error(httplib::Response& response, int http_status, const std::string& code_name,
                      const std::string& message) {
  reply_json(response, http_status, error_object(http_status, code_name, message, ""));
}

}  // namespace sieve::serve_http
