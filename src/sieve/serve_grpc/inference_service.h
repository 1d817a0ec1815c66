// sieve.v1.Inference over the serving core: Generate, GenerateStream and ListModels. Each call
// holds one of the server's threads while its completion runs; a client that goes away (cancel,
// disconnect, deadline) cancels the completion, so the scheduler frees its sequence and cache.
#pragma once

#include "sieve/serve/service.h"
#include "sieve/v1/inference.grpc.pb.h"

namespace sieve::serve {

class InferenceService final : public v1::Inference::Service {
 public:
  explicit InferenceService(serve::Service& service) : service_(service) {}

  grpc::Status Generate(grpc::ServerContext* context, const v1::GenerateRequest* request,
                        v1::GenerateResponse* response) override;
  grpc::Status GenerateStream(grpc::ServerContext* context, const v1::GenerateRequest* request,
                              grpc::ServerWriter<v1::GenerateChunk>* writer) override;
  grpc::Status ListModels(grpc::ServerContext* context, const v1::ListModelsRequest* request,
                          v1::ListModelsResponse* response) override;

 private:
  serve::Service& service_;  // qualified: inside the class, `Service` is the generated base
};

}  // namespace sieve::serve
