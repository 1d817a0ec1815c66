#include "sieve/serve_grpc/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "sieve/core/error.h"
#include "sieve/serve_grpc/admin_service.h"
#include "sieve/serve_grpc/inference_service.h"
#include "sieve/serve_grpc/reflection_service.h"

namespace sieve::serve {

GrpcServer::GrpcServer(Service& service, GrpcServerOptions options)
    : service_(service),
      options_(std::move(options)),
      inference_(std::make_unique<InferenceService>(service)),
      admin_(std::make_unique<AdminService>(service, options_.admin_token, [this] { publish_health(); })),
      reflection_(std::make_unique<ReflectionService>(
          std::vector<std::string>{v1::Inference::service_full_name(), v1::Admin::service_full_name(),
                                   grpc::health::v1::Health::service_full_name(),
                                   grpc::reflection::v1alpha::ServerReflection::service_full_name()})) {}

GrpcServer::~GrpcServer() { shutdown(std::chrono::milliseconds(0)); }

void GrpcServer::start() {
  SIEVE_CHECK(server_ == nullptr, "GrpcServer::start called twice");
  SIEVE_USER_CHECK(options_.max_message_bytes > 0, "the gRPC message limit must be positive (got {})",
                   options_.max_message_bytes);
  SIEVE_USER_CHECK(options_.max_threads > 0, "the gRPC thread limit must be positive (got {})", options_.max_threads);
  // A process-wide switch read when a server is built.
  grpc::EnableDefaultHealthCheckService(true);

  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.address, grpc::InsecureServerCredentials(), &port_);
  // gRPC lets two processes share a port by default; a second server must fail instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  grpc::ResourceQuota quota("sieve-grpc");
  quota.SetMaxThreads(options_.max_threads);
  builder.SetResourceQuota(quota);
  builder.RegisterService(inference_.get());
  builder.RegisterService(admin_.get());
  builder.RegisterService(reflection_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr) {
    port_ = 0;
    core::throw_user_error(
        "cannot listen for gRPC on '{}': the address is malformed, not one of this machine's, or in use",
        options_.address);
  }
  publish_health();
}

void GrpcServer::publish_health() {
  SIEVE_CHECK(server_ != nullptr, "GrpcServer::publish_health before start");
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  health->SetServingStatus("", service_.ready());
  for (const ModelInfo& model : service_.models()) health->SetServingStatus(model.name, service_.serving(model.name));
  for (const RouteInfo& route : service_.routes()) health->SetServingStatus(route.name, service_.serving(route.name));
}

void GrpcServer::shutdown(std::chrono::milliseconds deadline) {
  if (server_ == nullptr || shut_down_.exchange(true)) return;
  // After this the health service ignores status changes, so a late publish_health cannot undo it.
  server_->GetHealthCheckService()->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + deadline);
  server_->Wait();
}

}  // namespace sieve::serve
