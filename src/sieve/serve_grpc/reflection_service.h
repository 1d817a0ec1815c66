// grpc.reflection.v1alpha.ServerReflection over this binary's protobuf descriptor pool: how
// grpcurl lists the services and learns their messages without the .proto files. Our own rather
// than libgrpc++_reflection's, which would load libprotobuf.so beside the static copy this binary
// holds: NOTE [protobuf beside sentencepiece] (proto/CMakeLists.txt).
#pragma once

#include <string>
#include <vector>

#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace sieve::serve {

class ReflectionService final : public grpc::reflection::v1alpha::ServerReflection::Service {
 public:
  // `services`: the full names of the services the server offers (what list_services answers).
  explicit ReflectionService(std::vector<std::string> services) : services_(std::move(services)) {}

  // Answers each request on the stream in turn; a name the pool does not hold gets an
  // error_response (NOT_FOUND), as the protocol says, and the stream goes on.
  grpc::Status ServerReflectionInfo(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<grpc::reflection::v1alpha::ServerReflectionResponse,
                               grpc::reflection::v1alpha::ServerReflectionRequest>* stream) override;

 private:
  grpc::reflection::v1alpha::ServerReflectionResponse answer(
      const grpc::reflection::v1alpha::ServerReflectionRequest& request) const;

  std::vector<std::string> services_;
};

}  // namespace sieve::serve
