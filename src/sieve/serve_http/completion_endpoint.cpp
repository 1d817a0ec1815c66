#include "sieve/serve_http/completion_endpoint.h"

#include "sieve/serve_http/completion_request.h"
#include "sieve/serve_http/completion_stream.h"
#include "sieve/serve_http/http_reply.h"
#include "sieve/serve_http/openai_json.h"

namespace sieve::serve_http {
namespace {

// Blocks until the completion ends, then answers it whole (or its error status).
void answer_whole(serve::Completion& completion, httplib::Response& response) {
  const serve::CompletionChunk end = completion.wait();
  if (!end.status.ok()) {
    reply_error(response, end.status);
    return;
  }
  reply_json(response, 200, completion_json(completion, end));
}

void complete(serve::Service& service, const HttpCall& call, httplib::Response& response) {
  CompletionCall parsed = parse_completion_call(call.body, call.request);
  const serve::Submission submission = service.submit(std::move(parsed.request));
  if (!submission.status.ok()) {
    if (submission.status.code == serve::Code::resource_exhausted) response.set_header("Retry-After", "1");
    reply_error(response, submission.status, submission.status.code == serve::Code::not_found ? "model" : "");
    return;
  }
  if (parsed.stream)
    stream_completion(submission.completion, response);
  else
    answer_whole(*submission.completion, response);
}

}  // namespace

void add_completion_routes(RouteTable& routes, serve::Service& service) {
  routes.add("POST", "/v1/completions",
             [&service](const HttpCall& call, httplib::Response& response) { complete(service, call, response); });
}

}  // namespace sieve::serve_http
