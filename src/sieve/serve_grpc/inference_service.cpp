#include "sieve/serve_grpc/inference_service.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "sieve/serve_grpc/grpc_status.h"
#include "sieve/serve_grpc/messages.h"
#include "sieve/serve_grpc/metadata.h"

namespace sieve::serve {
namespace {

// How long a handler waits for new text before it looks again whether the client went away
// (the sync API has no cancellation callback).
constexpr std::chrono::milliseconds client_check_interval{50};

// A client whose own deadline passes cancels the call, and the cancellation can reach the handler
// before the server's copy of that deadline has passed: the server's copy counts from when the
// call arrived, which under load is well after the client sent it. A cancellation this close to
// the deadline is taken for the deadline passing, as the client saw it.
constexpr std::chrono::seconds deadline_slack{1};

// The message's request plus what the call carries: the routing key from metadata when the
// message has none, and the call's deadline (none when the client set none).
CompletionRequest request_of_call(const v1::GenerateRequest& message, const grpc::ServerContext& context) {
  CompletionRequest request = to_completion_request(message);
  if (request.client_key.empty()) request.client_key = metadata_value(context, "x-client-key").value_or("");
  const auto deadline = context.deadline();
  if (deadline != std::chrono::system_clock::time_point::max()) {
    const auto left = std::chrono::duration_cast<Clock::duration>(deadline - std::chrono::system_clock::now());
    request.deadline = Clock::now() + left;
  }
  return request;
}

// Owns a running completion for one handler: reads it while watching the client, and cancels it
// if the handler leaves before it ended (client gone, a failed write, an exception).
class CompletionReader {
 public:
  CompletionReader(std::shared_ptr<Completion> completion, grpc::ServerContext& context)
      : completion_(std::move(completion)), context_(context) {}
  ~CompletionReader() {
    if (!ended_) completion_->cancel(why_abandoned());
  }
  CompletionReader(const CompletionReader&) = delete;
  CompletionReader& operator=(const CompletionReader&) = delete;

  const Completion& completion() const { return *completion_; }

  // Why the handler gives up on the completion: the call's deadline passed (or all but passed: see
  // deadline_slack), or the client went.
  Status why_abandoned() const {
    if (context_.deadline() <= std::chrono::system_clock::now() + deadline_slack) {
      return Status::error(Code::deadline_exceeded, "the request's deadline passed");
    }
    return Status::error(Code::cancelled, "the client cancelled the request");
  }

  // The next piece of text (or the end), or nullopt once the client has gone away.
  std::optional<CompletionChunk> next() {
    for (;;) {
      if (context_.IsCancelled()) return std::nullopt;
      CompletionChunk chunk = completion_->next(client_check_interval);
      if (chunk.done) {
        ended_ = true;
        return chunk;
      }
      if (!chunk.text.empty()) return chunk;
    }
  }

 private:
  std::shared_ptr<Completion> completion_;
  grpc::ServerContext& context_;
  bool ended_ = false;
};

}  // namespace

grpc::Status InferenceService::Generate(grpc::ServerContext* context, const v1::GenerateRequest* request,
                                        v1::GenerateResponse* response) {
  return answer_guarded([&] {
    Submission submission = service_.submit(request_of_call(*request, *context));
    if (!submission.status.ok()) return to_grpc_status(submission.status);
    CompletionReader reader(std::move(submission.completion), *context);
    std::string text;
    for (;;) {
      const std::optional<CompletionChunk> chunk = reader.next();
      if (!chunk) return to_grpc_status(reader.why_abandoned());
      text += chunk->text;
      if (!chunk->done) continue;
      if (!chunk->status.ok()) return to_grpc_status(chunk->status);
      const Completion& completion = reader.completion();
      response->set_id(completion.id());
      response->set_model(completion.model());
      response->set_version(completion.version());
      response->set_text(std::move(text));
      response->set_finish_reason(finish_reason_name(chunk->finish_reason));
      fill_usage(chunk->usage, response->mutable_usage());
      return grpc::Status::OK;
    }
  });
}

grpc::Status InferenceService::GenerateStream(grpc::ServerContext* context, const v1::GenerateRequest* request,
                                              grpc::ServerWriter<v1::GenerateChunk>* writer) {
  return answer_guarded([&] {
    Submission submission = service_.submit(request_of_call(*request, *context));
    if (!submission.status.ok()) return to_grpc_status(submission.status);
    CompletionReader reader(std::move(submission.completion), *context);
    for (;;) {
      const std::optional<CompletionChunk> chunk = reader.next();
      if (!chunk) return to_grpc_status(reader.why_abandoned());
      if (chunk->done && !chunk->status.ok()) return to_grpc_status(chunk->status);
      const Completion& completion = reader.completion();
      v1::GenerateChunk out;
      out.set_id(completion.id());
      out.set_model(completion.model());
      out.set_version(completion.version());
      out.set_text(chunk->text);
      if (chunk->done) {
        out.set_finish_reason(finish_reason_name(chunk->finish_reason));
        fill_usage(chunk->usage, out.mutable_usage());
      }
      // A failed write means the stream is gone; the reader cancels the completion if it runs on.
      if (!writer->Write(out)) return to_grpc_status(reader.why_abandoned());
      if (chunk->done) return grpc::Status::OK;
    }
  });
}

grpc::Status InferenceService::ListModels(grpc::ServerContext*, const v1::ListModelsRequest*,
                                          v1::ListModelsResponse* response) {
  return answer_guarded([&] {
    for (const ModelInfo& model : service_.models()) fill_model_info(model, response->add_models());
    for (const RouteInfo& route : service_.routes()) {
      v1::RouteInfo* out = response->add_routes();
      out->set_name(route.name);
      out->set_spec(route.spec);
    }
    return grpc::Status::OK;
  });
}

}  // namespace sieve::serve
