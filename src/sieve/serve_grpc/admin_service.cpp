#include "sieve/serve_grpc/admin_service.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "sieve/serve_grpc/grpc_status.h"
#include "sieve/serve_grpc/messages.h"
#include "sieve/serve_grpc/metadata.h"

namespace sieve::serve {

grpc::Status AdminService::authorize(const grpc::ServerContext& context) const {
  if (token_ == nullptr) {
    return {grpc::StatusCode::UNAUTHENTICATED, "admin API is off; start with --admin-token-file"};
  }
  const std::optional<std::string> authorization = metadata_value(context, "authorization");
  if (!authorization) {
    return {grpc::StatusCode::UNAUTHENTICATED, "admin calls need the metadata entry 'authorization: Bearer <token>'"};
  }
  if (!token_->accepts(*authorization)) {
    return {grpc::StatusCode::UNAUTHENTICATED, "the admin token in 'authorization' is not the server's"};
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::LoadModel(grpc::ServerContext* context, const v1::LoadModelRequest* request,
                                     v1::LoadModelResponse* response) {
  return answer_guarded([&] {
    if (grpc::Status denied = authorize(*context); !denied.ok()) return denied;
    ModelInfo loaded;
    const Status status = service_.reload_model(request->model(), request->directory(), &loaded);
    if (!status.ok()) return to_grpc_status(status);
    on_change_();
    fill_model_info(loaded, response->mutable_model());
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::SetRoute(grpc::ServerContext* context, const v1::SetRouteRequest* request,
                                    v1::SetRouteResponse*) {
  return answer_guarded([&] {
    if (grpc::Status denied = authorize(*context); !denied.ok()) return denied;
    const Status status = service_.set_route(request->name(), request->spec());
    if (!status.ok()) return to_grpc_status(status);
    on_change_();
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::GetExperiment(grpc::ServerContext* context, const v1::GetExperimentRequest* request,
                                         v1::GetExperimentResponse* response) {
  return answer_guarded([&] {
    if (grpc::Status denied = authorize(*context); !denied.ok()) return denied;
    const std::optional<nlohmann::json> summary = service_.experiment(request->name());
    if (!summary) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no route named '" + request->name() + "'");
    response->set_json(summary->dump());
    return grpc::Status::OK;
  });
}

}  // namespace sieve::serve
