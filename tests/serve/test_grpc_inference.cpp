// sieve.v1.Inference end to end over a real channel: unary and streaming agree, ListModels, and
// bad input (malformed bytes, unknown model, out-of-range parameters, a client that cancels
// mid-stream) gets a clear status while the server keeps serving.
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <future>
#include <limits>
#include <string>
#include <vector>

#include "grpc_test_server.h"

namespace {

using sieve::testing::GrpcTestServer;
using sieve::testing::long_slow_request;
using sieve::testing::tiny_request;
namespace v1 = sieve::v1;

// The tiny model answers `request` with a unary Generate; expects it to succeed.
v1::GenerateResponse generate(const GrpcTestServer& server, const v1::GenerateRequest& request) {
  grpc::ClientContext context;
  v1::GenerateResponse response;
  const grpc::Status status = server.inference()->Generate(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

grpc::Status generate_status(const GrpcTestServer& server, const v1::GenerateRequest& request) {
  grpc::ClientContext context;
  v1::GenerateResponse response;
  return server.inference()->Generate(&context, request, &response);
}

void expect_still_serving(const GrpcTestServer& server) {
  const grpc::Status status = generate_status(server, tiny_request("still serving", 4));
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// Sends `bytes` as the request of `method` (no protobuf encoding) and returns the call's status.
grpc::Status raw_call(const GrpcTestServer& server, const std::string& method, const std::string& bytes) {
  grpc::GenericStub stub(server.channel());
  grpc::ClientContext context;
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

TEST(GrpcInference, GenerateAndGenerateStreamGiveTheSameTextForTheSameSeed) {
  GrpcTestServer server;
  const v1::GenerateRequest request = tiny_request("the quick brown fox", 24);
  const v1::GenerateResponse unary = generate(server, request);
  EXPECT_EQ(unary.model(), "tiny");
  EXPECT_EQ(unary.version(), 1);
  EXPECT_EQ(unary.id().rfind("cmpl-", 0), 0u) << unary.id();
  EXPECT_TRUE(unary.finish_reason() == "stop" || unary.finish_reason() == "length") << unary.finish_reason();
  EXPECT_GT(unary.usage().prompt_tokens(), 0);
  EXPECT_GT(unary.usage().completion_tokens(), 0);
  EXPECT_EQ(unary.usage().total_tokens(), unary.usage().prompt_tokens() + unary.usage().completion_tokens());

  grpc::ClientContext context;
  auto stream = server.inference()->GenerateStream(&context, request);
  std::string text;
  v1::GenerateChunk chunk, last;
  while (stream->Read(&chunk)) {
    text += chunk.text();
    EXPECT_EQ(chunk.model(), "tiny");
    if (!chunk.finish_reason().empty()) {
      last = chunk;
    } else {
      EXPECT_FALSE(chunk.has_usage()) << "usage before the last chunk";
    }
  }
  const grpc::Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(text, unary.text());
  EXPECT_EQ(last.finish_reason(), unary.finish_reason());
  EXPECT_EQ(last.usage().completion_tokens(), unary.usage().completion_tokens());
  EXPECT_EQ(last.usage().prompt_tokens(), unary.usage().prompt_tokens());
}

TEST(GrpcInference, MaxTokensZeroTakesTheServerDefault) {
  GrpcTestServer server;
  v1::GenerateRequest request = tiny_request("a river flows", 0);
  request.set_temperature(0.0f);
  const v1::GenerateResponse response = generate(server, request);
  EXPECT_GT(response.usage().completion_tokens(), 0);
  EXPECT_LE(response.usage().completion_tokens(), sieve::serve::ServiceOptions().default_max_tokens);
}

TEST(GrpcInference, TheRoutingKeyComesFromMetadataWhenTheMessageHasNone) {
  GrpcTestServer server;
  ASSERT_TRUE(server.service().set_route("ab", "tiny:50,tiny2:50").ok());
  v1::GenerateRequest request = tiny_request("the model learns", 2);
  request.set_model("ab");
  // One key, one variant: every call with the same metadata key lands on the same model.
  std::string first_model;
  for (int i = 0; i < 6; ++i) {
    grpc::ClientContext context;
    context.AddMetadata("x-client-key", "user-42");
    v1::GenerateResponse response;
    const grpc::Status status = server.inference()->Generate(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    if (i == 0) first_model = response.model();
    EXPECT_EQ(response.model(), first_model);
  }
}

TEST(GrpcInference, ListModelsNamesEveryModelAndRoute) {
  GrpcTestServer server;
  ASSERT_TRUE(server.service().set_route("ab", "tiny:90,tiny2:10").ok());
  grpc::ClientContext context;
  v1::ListModelsResponse response;
  ASSERT_TRUE(server.inference()->ListModels(&context, v1::ListModelsRequest(), &response).ok());
  ASSERT_EQ(response.models_size(), 2);
  for (const v1::ModelInfo& model : response.models()) {
    EXPECT_TRUE(model.name() == "tiny" || model.name() == "tiny2") << model.name();
    EXPECT_EQ(model.version(), 1);
    const auto& models = sieve::testing::ServeTestModels::get();
    EXPECT_EQ(model.directory(), (model.name() == "tiny" ? models.first() : models.second()).string());
    EXPECT_EQ(model.context_length(), 128);
    EXPECT_EQ(model.precision(), "f32");
    EXPECT_GT(model.created(), 0);
  }
  ASSERT_EQ(response.routes_size(), 1);
  EXPECT_EQ(response.routes(0).name(), "ab");
  EXPECT_EQ(response.routes(0).spec(), "tiny:90,tiny2:10");
}

TEST(GrpcInference, MalformedBytesGetAnErrorStatusAndTheServerServesOn) {
  GrpcTestServer server;
  // A field header that promises more bytes than follow, and a wire type that does not exist.
  const std::string truncated = std::string("\x12\x7f") + "abc", no_such_wire_type("\xff\xff\xff\xff\x0f", 5);
  for (const std::string& garbage : {truncated, no_such_wire_type}) {
    for (const char* method : {"/sieve.v1.Inference/Generate", "/sieve.v1.Inference/GenerateStream"}) {
      const grpc::Status status = raw_call(server, method, garbage);
      EXPECT_TRUE(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
                  status.error_code() == grpc::StatusCode::INTERNAL)
          << method << ": " << status.error_code() << " " << status.error_message();
    }
  }
  // A prompt that is not UTF-8 in a proto3 string field fails to parse too.
  v1::GenerateRequest bad_utf8 = tiny_request("", 4);
  std::string bytes = bad_utf8.SerializeAsString() + std::string("\x12\x02\xc3\x28", 4);
  EXPECT_FALSE(raw_call(server, "/sieve.v1.Inference/Generate", bytes).ok());
  expect_still_serving(server);
}

TEST(GrpcInference, UnknownModelIsNotFound) {
  GrpcTestServer server;
  v1::GenerateRequest request = tiny_request("hello", 4);
  request.set_model("no-such-model");
  const grpc::Status status = generate_status(server, request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(status.error_message().find("no-such-model"), std::string::npos) << status.error_message();

  grpc::ClientContext context;
  auto stream = server.inference()->GenerateStream(&context, request);
  v1::GenerateChunk chunk;
  EXPECT_FALSE(stream->Read(&chunk));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(GrpcInference, OutOfRangeParametersAreInvalidArgument) {
  GrpcTestServer server;
  std::vector<v1::GenerateRequest> bad;
  bad.push_back(tiny_request("x", -1));
  bad.push_back(tiny_request("x", 1'000'000));
  bad.push_back(tiny_request("x", 4));
  bad.back().set_temperature(-0.5f);
  bad.push_back(tiny_request("x", 4));
  bad.back().set_temperature(std::numeric_limits<float>::quiet_NaN());
  bad.push_back(tiny_request("x", 4));
  bad.back().set_top_p(0.0f);
  bad.push_back(tiny_request("x", 4));
  bad.back().set_top_p(1.5f);
  bad.push_back(tiny_request("x", 4));
  bad.back().set_top_k(-3);
  bad.push_back(tiny_request("x", 4));
  for (int i = 0; i < 5; ++i) bad.back().add_stop("s" + std::to_string(i));
  std::string huge_prompt;
  for (int i = 0; i < 400; ++i) huge_prompt += "the quick brown fox jumps over the lazy dog. ";
  bad.push_back(tiny_request(huge_prompt, 4));
  for (const v1::GenerateRequest& request : bad) {
    const grpc::Status status = generate_status(server, request);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << request.ShortDebugString().substr(0, 200) << " → " << status.error_message();
    EXPECT_FALSE(status.error_message().empty());
  }
  expect_still_serving(server);
}

TEST(GrpcInference, ARequestLargerThanTheMessageLimitIsRefused) {
  GrpcTestServer server;
  const grpc::Status status = generate_status(server, tiny_request(std::string(2 << 20, 'a'), 4));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  expect_still_serving(server);
}

TEST(GrpcInference, AClientCancellingMidStreamFreesItsSequence) {
  GrpcTestServer server({.slow_model = true});
  {
    grpc::ClientContext context;
    auto stream = server.inference()->GenerateStream(&context, long_slow_request());
    v1::GenerateChunk chunk;
    ASSERT_TRUE(stream->Read(&chunk));
    // The first text came while the sequence still runs: the stream carries text as it is made.
    EXPECT_TRUE(chunk.finish_reason().empty());
    EXPECT_EQ(server.metric("sieve_active_sequences"), 1.0);
    context.TryCancel();
    while (stream->Read(&chunk)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_TRUE(server.wait_until_idle());
  EXPECT_TRUE(server.wait_for_metric(R"(sieve_request_errors_total{route="slow",model="slow",code="cancelled"})", 1))
      << server.service().metrics_text();
  expect_still_serving(server);
  EXPECT_TRUE(server.wait_until_idle());
}

TEST(GrpcInference, APassedDeadlineEndsTheCallAndFreesItsSequence) {
  GrpcTestServer server({.slow_model = true});
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  v1::GenerateResponse response;
  const grpc::Status status = server.inference()->Generate(&context, long_slow_request(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  EXPECT_TRUE(server.wait_until_idle());
  EXPECT_TRUE(
      server.wait_for_metric(R"(sieve_request_errors_total{route="slow",model="slow",code="deadline_exceeded"})", 1))
      << server.service().metrics_text();
  expect_still_serving(server);
}

}  // namespace
