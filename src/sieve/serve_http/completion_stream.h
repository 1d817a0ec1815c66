// A completion sent as server-sent events (OpenAI's `stream: true`): one `data: {chunk}` event
// per piece of new text, a last chunk with the finish reason and usage, then `data: [DONE]`. An
// error after the stream began is one `data: {"error":...}` event, and the stream ends.
#pragma once

#include <httplib.h>

#include <memory>

#include "sieve/serve/completion.h"

namespace sieve::serve_http {

// Makes `response` a 200 text/event-stream that httplib writes (chunked) as the completion
// produces text. When the client goes away (its socket is closed, or takes nothing for the
// write timeout) or the server stops, the completion is cancelled so the scheduler drops the
// sequence and frees its cache.
void stream_completion(std::shared_ptr<serve::Completion> completion, httplib::Response& response);

}  // namespace sieve::serve_http
