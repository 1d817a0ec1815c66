// An in-process `sieve serve` for the gRPC tests: a Service serving two tiny random-weight
// models ("tiny", "tiny2"), with a GrpcServer over it on a free loopback port, and clients.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "sieve/serve/service.h"
#include "sieve/serve_grpc/grpc_server.h"
#include "sieve/v1/inference.grpc.pb.h"
#include "temp_dir.h"
#include "tiny_model_dir.h"

namespace sieve::testing {

inline constexpr const char* test_admin_token = "s3cret-token";

class GrpcTestServer {
 public:
  // `admin`: whether the server takes admin calls (with test_admin_token).
  explicit GrpcTestServer(bool admin = false) {
    write_tiny_model_dir(dir_ / "tiny", 1);
    write_tiny_model_dir(dir_ / "tiny2", 2);
    serve::ServiceOptions options;
    options.threads = 1;  // the test machine's cores are shared
    service_ = std::make_unique<serve::Service>(options);
    service_->add_model("tiny", dir_ / "tiny");
    service_->add_model("tiny2", dir_ / "tiny2");
    serve::GrpcServerOptions server_options;
    server_options.address = "127.0.0.1:0";
    if (admin) {
      std::ofstream(dir_ / "token") << test_admin_token << "\n";
      token_ = serve::AdminToken::from_file(dir_ / "token");
      server_options.admin_token = &*token_;
    }
    server_ = std::make_unique<serve::GrpcServer>(*service_, server_options);
    server_->start();
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials());
  }

  serve::Service& service() { return *service_; }
  serve::GrpcServer& server() { return *server_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::unique_ptr<v1::Inference::Stub> inference() const { return v1::Inference::NewStub(channel_); }
  std::unique_ptr<v1::Admin::Stub> admin() const { return v1::Admin::NewStub(channel_); }

  // The value of an unlabelled metric in the Service's Prometheus text (nullopt when absent).
  std::optional<double> metric(const std::string& name) const {
    std::istringstream lines(service_->metrics_text());
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
    }
    return std::nullopt;
  }

  // Waits up to `timeout` for the number of active sequences to reach `expected`.
  bool wait_for_active_sequences(double expected, std::chrono::milliseconds timeout) const {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (metric("sieve_active_sequences") == expected) return true;
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

 private:
  TempDir dir_;
  std::optional<serve::AdminToken> token_;
  std::unique_ptr<serve::Service> service_;
  std::unique_ptr<serve::GrpcServer> server_;  // after the service: it goes first
  std::shared_ptr<grpc::Channel> channel_;
};

// A request for the tiny model with a fixed seed.
inline v1::GenerateRequest tiny_request(const std::string& prompt, std::int64_t max_tokens, std::uint64_t seed = 7) {
  v1::GenerateRequest request;
  request.set_model("tiny");
  request.set_prompt(prompt);
  request.set_max_tokens(max_tokens);
  request.set_seed(seed);
  return request;
}

}  // namespace sieve::testing
