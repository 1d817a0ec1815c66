// sieve.v1.Admin over the serving core: LoadModel (hot update), SetRoute, GetExperiment. Every
// call must carry the metadata entry `authorization: Bearer <token>` that the admin token accepts.
#pragma once

#include <functional>

#include "sieve/serve/service.h"
#include "sieve/v1/inference.grpc.pb.h"

namespace sieve::serve {

class AdminService final : public v1::Admin::Service {
 public:
  // `token` null: the admin API is off and every call answers UNAUTHENTICATED. `on_change` runs
  // after a LoadModel or SetRoute that succeeded (the server republishes its health statuses).
  AdminService(serve::Service& service, const AdminToken* token, std::function<void()> on_change)
      : service_(service), token_(token), on_change_(std::move(on_change)) {}

  grpc::Status LoadModel(grpc::ServerContext* context, const v1::LoadModelRequest* request,
                         v1::LoadModelResponse* response) override;
  grpc::Status SetRoute(grpc::ServerContext* context, const v1::SetRouteRequest* request,
                        v1::SetRouteResponse* response) override;
  grpc::Status GetExperiment(grpc::ServerContext* context, const v1::GetExperimentRequest* request,
                             v1::GetExperimentResponse* response) override;

 private:
  grpc::Status authorize(const grpc::ServerContext& context) const;

  serve::Service& service_;  // qualified: inside the class, `Service` is the generated base
  const AdminToken* token_;
  std::function<void()> on_change_;
};

}  // namespace sieve::serve
