#include "apps/dashboard/server/api_reply.h"

#include "apps/dashboard/jobs/job_manager.h"
#include "apps/dashboard/runs/run_path.h"
#include "sieve/serve_http/http_reply.h"

namespace sieve::dashboard {

nlohmann::json json_body(const serve_http::HttpCall& call) {
  nlohmann::json body = nlohmann::json::parse(call.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) throw serve_http::BadRequest("the request body must be a JSON object");
  return body;
}

serve_http::RouteHandler finding_runs(serve_http::RouteHandler handler) {
  return [handler = std::move(handler)](const serve_http::HttpCall& call, httplib::Response& response) {
    try {
      handler(call, response);
    } catch (const RunNotFound& error) {
      serve_http::reply_error(response, serve::Status::error(serve::Code::not_found, error.what()));
    } catch (const JobConflict& error) {
      serve_http::reply_http_error(response, 409, "conflict", error.what());
    }
  };
}

serve_http::RouteHandler requiring_token(const serve::AdminToken& token, serve_http::RouteHandler handler) {
  return [&token, handler = std::move(handler)](const serve_http::HttpCall& call, httplib::Response& response) {
    if (!token.accepts(call.request.get_header_value("Authorization"))) {
      serve_http::reply_error(response, serve::Status::error(serve::Code::unauthenticated,
                                                             "this request needs the token `sieve dashboard` printed at "
                                                             "start, as the header 'Authorization: Bearer <token>'"));
      return;
    }
    handler(call, response);
  };
}

}  // namespace sieve::dashboard
