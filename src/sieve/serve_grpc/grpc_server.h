// The gRPC front of `sieve serve`: sieve.v1.Inference, sieve.v1.Admin, the standard
// grpc.health.v1.Health (one status per model and route name, "" for the whole server) and
// server reflection (grpcurl works without the .proto), on one plain-text listening address.
// A thin adapter: the Service does the work; this translates messages, metadata and statuses.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "sieve/serve/service.h"

namespace grpc {
class Server;
}

namespace sieve::serve {

class InferenceService;
class AdminService;
class ReflectionService;

struct GrpcServerOptions {
  std::string address = "127.0.0.1:50051";  // host:port; port 0 picks a free one (see port())
  int max_message_bytes = 1 << 20;          // a larger request is refused (RESOURCE_EXHAUSTED)
  // Threads for calls in flight: each Generate holds one while its completion runs, so this
  // bounds concurrent calls (past it a call gets RESOURCE_EXHAUSTED). The default covers the
  // core's default batch plus queue (32 + 256) with room for health and admin calls.
  int max_threads = 320;
  // null: every admin call answers UNAUTHENTICATED (the admin API is off).
  const AdminToken* admin_token = nullptr;
};

class GrpcServer {
 public:
  // `service` (and options.admin_token) must outlive the server.
  GrpcServer(Service& service, GrpcServerOptions options);
  ~GrpcServer();  // shutdown(0) if still running
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Binds and starts serving, then publishes health. Throws core::UserError naming the address
  // when it cannot bind (in use, not an address of this machine, malformed) or an option is out of
  // range.
  void start();
  // The bound port (the one picked, for port 0); 0 before start().
  int port() const { return port_; }
  // Sets the health status of "" (Service::ready) and of every model and route name
  // (Service::serving). The gRPC admin calls do this themselves; call it after models or routes
  // change another way (the HTTP admin API, SIGHUP).
  void publish_health();
  // Marks every health name NOT_SERVING (Watch streams see it), stops taking calls, lets the
  // calls in flight run until `deadline` and cancels the rest (their completions are cancelled
  // and their sequences freed). Returns once every call has ended; idempotent. A Watch stream
  // stays open until the deadline, so a load balancer has that long to move traffic away.
  void shutdown(std::chrono::milliseconds deadline);

 private:
  Service& service_;
  GrpcServerOptions options_;
  std::unique_ptr<InferenceService> inference_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<ReflectionService> reflection_;
  std::unique_ptr<grpc::Server> server_;  // after the services: it goes first
  int port_ = 0;
  std::atomic<bool> shut_down_{false};
};

}  // namespace sieve::serve
