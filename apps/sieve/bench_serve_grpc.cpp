// The gRPC client of `sieve bench serve`: sieve.v1.Inference Generate (unary) or GenerateStream,
// and Admin.LoadModel for hot reloads.
#include <grpcpp/grpcpp.h>

#include <fmt/format.h>

#include "apps/sieve/bench_serve_client.h"
#include "sieve/v1/inference.grpc.pb.h"

namespace sieve::apps {
namespace {

// grpc::StatusCode as the gRPC spec names it.
const char* status_code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN_CODE";
  }
}

CompletionOutcome status_failure(const grpc::Status& status) {
  return CompletionOutcome::failed(std::string("grpc_") + status_code_name(status.error_code()), status.error_message());
}

class GrpcServeClient final : public ServeClient {
 public:
  GrpcServeClient(const ServeTarget& target, const CompletionSettings& settings) : settings_(settings) {
    grpc::ChannelArguments args;
    // A connection of its own per client, as each HTTP client has; the default pool would put
    // every client on one shared connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    const auto channel = grpc::CreateCustomChannel(target.address(), grpc::InsecureChannelCredentials(), args);
    inference_ = sieve::v1::Inference::NewStub(channel);
    admin_ = sieve::v1::Admin::NewStub(channel);
  }

  CompletionOutcome complete(const CompletionCall& call) override {
    sieve::v1::GenerateRequest request;
    request.set_model(settings_.model);
    request.set_prompt(call.prompt);
    request.set_max_tokens(settings_.max_tokens);
    request.set_temperature(static_cast<float>(settings_.temperature));
    request.set_seed(call.seed);
    request.set_client_key(call.client_key);
    grpc::ClientContext context;
    context.set_deadline(deadline());
    return settings_.stream ? complete_streaming(context, request) : complete_unary(context, request);
  }

  std::string load_model(const std::string& model, const std::string& directory, const std::string& token) override {
    sieve::v1::LoadModelRequest request;
    request.set_model(model);
    request.set_directory(directory);
    sieve::v1::LoadModelResponse response;
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token);
    context.set_deadline(deadline());
    const grpc::Status status = admin_->LoadModel(&context, request, &response);
    if (status.ok()) return "";
    return fmt::format("gRPC {}: {}", status_code_name(status.error_code()), status.error_message());
  }

 private:
  std::chrono::system_clock::time_point deadline() const {
    return std::chrono::system_clock::now() +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(
               std::chrono::duration<double>(settings_.timeout_s));
  }

  CompletionOutcome complete_unary(grpc::ClientContext& context, const sieve::v1::GenerateRequest& request) {
    sieve::v1::GenerateResponse response;
    const grpc::Status status = inference_->Generate(&context, request, &response);
    if (!status.ok()) return status_failure(status);
    CompletionOutcome outcome;
    outcome.ok = true;
    outcome.end = BenchClock::now();
    outcome.completion_tokens = response.usage().completion_tokens();
    if (response.version() > 0) outcome.version = response.version();  // 0: not set
    return outcome;
  }

  CompletionOutcome complete_streaming(grpc::ClientContext& context, const sieve::v1::GenerateRequest& request) {
    const auto reader = inference_->GenerateStream(&context, request);
    CompletionOutcome outcome;
    bool has_usage = false;
    for (sieve::v1::GenerateChunk chunk; reader->Read(&chunk);) {
      if (!outcome.first_text && !chunk.text().empty()) outcome.first_text = BenchClock::now();
      if (chunk.version() > 0) outcome.version = chunk.version();
      if (chunk.has_usage()) {
        outcome.completion_tokens = chunk.usage().completion_tokens();
        has_usage = true;
      }
    }
    const grpc::Status status = reader->Finish();
    if (!status.ok()) return status_failure(status);
    if (!has_usage) return CompletionOutcome::failed("bad_response", "the stream ended without a chunk carrying usage");
    outcome.ok = true;
    outcome.end = BenchClock::now();
    return outcome;
  }

  const CompletionSettings settings_;
  std::unique_ptr<sieve::v1::Inference::Stub> inference_;
  std::unique_ptr<sieve::v1::Admin::Stub> admin_;
};

}  // namespace

std::unique_ptr<ServeClient> make_grpc_client(const ServeTarget& target, const CompletionSettings& settings) {
  return std::make_unique<GrpcServeClient>(target, settings);
}

}  // namespace sieve::apps
