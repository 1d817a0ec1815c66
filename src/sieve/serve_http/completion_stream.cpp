#include "sieve/serve_http/completion_stream.h"

#include <chrono>
#include <string>

#include "sieve/serve_http/http_reply.h"
#include "sieve/serve_http/openai_json.h"

namespace sieve::serve_http {
namespace {

// How long one wait for new text lasts before the client's socket is checked again: the most a
// disconnect goes unnoticed while the completion makes no text.
constexpr std::chrono::milliseconds kPoll{100};

// One SSE response's state, shared by httplib's content provider and its releaser.
class CompletionStream {
 public:
  explicit CompletionStream(std::shared_ptr<serve::Completion> completion) : completion_(std::move(completion)) {}

  // One step: waits briefly for text and sends it; ends the stream when the completion ends.
  // False (the connection is dropped) when the client is gone.
  bool step(httplib::DataSink& sink) {
    if (!sink.is_writable()) return false;
    const serve::CompletionChunk chunk = completion_->next(kPoll);
    if (!chunk.text.empty() && !send(sink, to_wire(completion_delta_json(*completion_, chunk.text)))) return false;
    if (!chunk.done) return true;
    ended_ = true;
    if (chunk.status.ok()) {
      if (!send(sink, to_wire(completion_last_chunk_json(*completion_, chunk))) || !send(sink, "[DONE]")) return false;
    } else if (!send(sink, to_wire(error_json(chunk.status)))) {
      return false;
    }
    sink.done();
    return true;
  }

  // httplib is done with the response, whether it was sent whole or not.
  void release() {
    if (!ended_) completion_->cancel();
  }

 private:
  static bool send(httplib::DataSink& sink, const std::string& data) {
    const std::string event = "data: " + data + "\n\n";
    return sink.write(event.data(), event.size());
  }

  std::shared_ptr<serve::Completion> completion_;
  bool ended_ = false;  // the completion reached its end (and that was sent, or tried)
};

}  // namespace

void stream_completion(std::shared_ptr<serve::Completion> completion, httplib::Response& response) {
  auto stream = std::make_shared<CompletionStream>(std::move(completion));
  response.status = 200;
  response.set_header("Cache-Control", "no-cache");
  // httplib calls the provider until it ends the stream or fails; an exception must not escape
  // into httplib's worker thread, so it drops the connection instead.
  response.set_chunked_content_provider(
      "text/event-stream",
      [stream](std::size_t /*offset*/, httplib::DataSink& sink) {
        try {
          return stream->step(sink);
        } catch (const std::exception&) {
          return false;
        }
      },
      [stream](bool /*success*/) { stream->release(); });
}

}  // namespace sieve::serve_http
