// Server reflection (grpc.reflection.v1alpha, what grpcurl speaks) lists sieve.v1.Inference and
// returns the file descriptor that declares it. The messages are built from the descriptors
// libgrpc++_reflection registers in the generated pool: a generated copy of reflection.proto in
// this binary would clash with the library's own.
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/text_format.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "grpc_test_server.h"

namespace {

using sieve::testing::GrpcTestServer;
namespace protobuf = google::protobuf;

const protobuf::Message& prototype(const std::string& type) {
  const protobuf::Descriptor* descriptor = protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
  if (descriptor == nullptr) throw std::runtime_error(type + " is not in the generated pool");
  return *protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor);
}

// Waits for the one operation in flight on `queue`; whether it succeeded.
bool await(grpc::CompletionQueue& queue) {
  void* tag = nullptr;
  bool ok = false;
  return queue.Next(&tag, &ok) && ok;
}

// Sends one ServerReflectionRequest (in text format) on a ServerReflectionInfo stream and
// returns the answer.
std::unique_ptr<protobuf::Message> ask_reflection(const GrpcTestServer& server, const std::string& request_text) {
  std::unique_ptr<protobuf::Message> request(prototype("grpc.reflection.v1alpha.ServerReflectionRequest").New());
  if (!protobuf::TextFormat::ParseFromString(request_text, request.get())) throw std::runtime_error("bad request text");
  const std::string bytes = request->SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request_buffer(&slice, 1), response_buffer;

  grpc::GenericStub stub(server.channel());
  grpc::ClientContext context;
  grpc::CompletionQueue queue;
  auto call = stub.PrepareCall(&context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &queue);
  grpc::Status status;
  call->StartCall(nullptr);
  EXPECT_TRUE(await(queue));
  call->Write(request_buffer, nullptr);
  EXPECT_TRUE(await(queue));
  call->WritesDone(nullptr);
  EXPECT_TRUE(await(queue));
  call->Read(&response_buffer, nullptr);
  EXPECT_TRUE(await(queue));
  call->Finish(&status, nullptr);
  EXPECT_TRUE(await(queue));
  EXPECT_TRUE(status.ok()) << status.error_message();
  queue.Shutdown();
  while (await(queue)) {
  }

  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(response_buffer.Dump(&slices).ok());
  std::string response_bytes;
  for (const grpc::Slice& s : slices) response_bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  std::unique_ptr<protobuf::Message> response(prototype("grpc.reflection.v1alpha.ServerReflectionResponse").New());
  EXPECT_TRUE(response->ParseFromString(response_bytes));
  return response;
}

// The sub-message `name` of `message`.
const protobuf::Message& field_message(const protobuf::Message& message, const std::string& name) {
  const protobuf::FieldDescriptor* field = message.GetDescriptor()->FindFieldByName(name);
  if (field == nullptr) throw std::runtime_error("no field " + name);
  return message.GetReflection()->GetMessage(message, field);
}

TEST(GrpcReflection, ListsTheInferenceService) {
  GrpcTestServer server;
  const auto response = ask_reflection(server, "list_services: \"*\"");
  const protobuf::Message& list = field_message(*response, "list_services_response");
  const protobuf::FieldDescriptor* service_field = list.GetDescriptor()->FindFieldByName("service");
  std::vector<std::string> names;
  for (int i = 0; i < list.GetReflection()->FieldSize(list, service_field); ++i) {
    const protobuf::Message& service = list.GetReflection()->GetRepeatedMessage(list, service_field, i);
    names.push_back(service.GetReflection()->GetString(service, service.GetDescriptor()->FindFieldByName("name")));
  }
  EXPECT_NE(std::find(names.begin(), names.end(), "sieve.v1.Inference"), names.end()) << response->DebugString();
  EXPECT_NE(std::find(names.begin(), names.end(), "sieve.v1.Admin"), names.end()) << response->DebugString();
  EXPECT_NE(std::find(names.begin(), names.end(), "grpc.health.v1.Health"), names.end()) << response->DebugString();
}

TEST(GrpcReflection, ReturnsTheFileThatDeclaresTheInferenceService) {
  GrpcTestServer server;
  const auto response = ask_reflection(server, "file_containing_symbol: \"sieve.v1.Inference\"");
  const protobuf::Message& files = field_message(*response, "file_descriptor_response");
  const protobuf::FieldDescriptor* file_field = files.GetDescriptor()->FindFieldByName("file_descriptor_proto");
  ASSERT_GE(files.GetReflection()->FieldSize(files, file_field), 1) << response->DebugString();
  protobuf::FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromString(files.GetReflection()->GetRepeatedString(files, file_field, 0)));
  EXPECT_EQ(file.name(), "sieve/v1/inference.proto");
  EXPECT_EQ(file.package(), "sieve.v1");
  std::vector<std::string> methods;
  for (const auto& service : file.service()) {
    if (service.name() != "Inference") continue;
    for (const auto& method : service.method()) methods.push_back(method.name());
  }
  EXPECT_EQ(methods, (std::vector<std::string>{"Generate", "GenerateStream", "ListModels"}));
}

}  // namespace
