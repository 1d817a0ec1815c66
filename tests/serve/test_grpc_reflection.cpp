// Server reflection (grpc.reflection.v1alpha, what grpcurl speaks): it lists the services and
// returns the file that declares one, with its imports; an unknown name gets an error_response
// and the stream goes on.
#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpc_test_server.h"

namespace {

using sieve::testing::GrpcTestServer;
namespace reflection = grpc::reflection::v1alpha;

// Sends each request on one ServerReflectionInfo stream and returns the answers.
std::vector<reflection::ServerReflectionResponse> ask(
    const GrpcTestServer& server, const std::vector<reflection::ServerReflectionRequest>& requests) {
  grpc::ClientContext context;
  auto stream = reflection::ServerReflection::NewStub(server.channel())->ServerReflectionInfo(&context);
  std::vector<reflection::ServerReflectionResponse> responses;
  for (const auto& request : requests) {
    EXPECT_TRUE(stream->Write(request));
    reflection::ServerReflectionResponse response;
    EXPECT_TRUE(stream->Read(&response));
    responses.push_back(response);
  }
  stream->WritesDone();
  const grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  return responses;
}

reflection::ServerReflectionRequest list_services() {
  reflection::ServerReflectionRequest request;
  request.set_list_services("*");
  return request;
}

reflection::ServerReflectionRequest file_containing(const std::string& symbol) {
  reflection::ServerReflectionRequest request;
  request.set_file_containing_symbol(symbol);
  return request;
}

TEST(GrpcReflection, ListsEveryService) {
  GrpcTestServer server;
  const auto responses = ask(server, {list_services()});
  std::vector<std::string> names;
  for (const auto& service : responses.at(0).list_services_response().service()) names.push_back(service.name());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection",
                                             "sieve.v1.Admin", "sieve.v1.Inference"}));
}

TEST(GrpcReflection, ReturnsTheFileThatDeclaresTheInferenceService) {
  GrpcTestServer server;
  const auto responses =
      ask(server, {file_containing("sieve.v1.Inference"), file_containing("sieve.v1.GenerateChunk")});
  for (const auto& response : responses) {
    ASSERT_EQ(response.file_descriptor_response().file_descriptor_proto_size(), 1) << response.ShortDebugString();
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(response.file_descriptor_response().file_descriptor_proto(0)));
    EXPECT_EQ(file.name(), "sieve/v1/inference.proto");
    EXPECT_EQ(file.package(), "sieve.v1");
    std::vector<std::string> methods;
    for (const auto& service : file.service()) {
      if (service.name() != "Inference") continue;
      for (const auto& method : service.method()) methods.push_back(method.name());
    }
    EXPECT_EQ(methods, (std::vector<std::string>{"Generate", "GenerateStream", "ListModels"}));
  }
  EXPECT_EQ(responses[0].original_request().file_containing_symbol(), "sieve.v1.Inference");
}

TEST(GrpcReflection, TheHealthServiceIsDescribedToo) {
  GrpcTestServer server;
  reflection::ServerReflectionRequest by_name;
  by_name.set_file_by_filename("grpc/health/v1/health.proto");
  const auto responses = ask(server, {file_containing("grpc.health.v1.Health"), by_name});
  for (const auto& response : responses) {
    ASSERT_EQ(response.file_descriptor_response().file_descriptor_proto_size(), 1) << response.ShortDebugString();
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(response.file_descriptor_response().file_descriptor_proto(0)));
    EXPECT_EQ(file.name(), "grpc/health/v1/health.proto");
  }
}

TEST(GrpcReflection, AnUnknownNameIsNotFoundAndTheStreamGoesOn) {
  GrpcTestServer server;
  reflection::ServerReflectionRequest nothing;
  const auto responses = ask(server, {file_containing("no.such.Service"), nothing, list_services()});
  EXPECT_EQ(responses[0].error_response().error_code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_NE(responses[0].error_response().error_message().find("no.such.Service"), std::string::npos);
  EXPECT_EQ(responses[1].error_response().error_code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(responses[2].list_services_response().service_size(), 4);
}

}  // namespace
