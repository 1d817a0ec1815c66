// An in-process `sieve serve` for the gRPC tests: a Service serving the two tiny test models
// ("tiny": ServeTestModels::first, "tiny2": second), with a GrpcServer over it on a free
// loopback port, and clients.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "serve_test_models.h"
#include "sieve/serve/service.h"
#include "sieve/serve_grpc/grpc_server.h"
#include "sieve/v1/inference.grpc.pb.h"
#include "temp_dir.h"

namespace sieve::testing {

inline constexpr const char* test_admin_token = "test-admin-token-0123456789";

// A model slow enough to act on while it answers: the "demo" preset (context 256, a few times
// the tiny model's compute) takes hundreds of milliseconds for a long answer. Made once per
// test binary.
class SlowTestModel {
 public:
  static std::filesystem::path get() {
    static const SlowTestModel model;
    return model.dir_ / "slow";
  }

 private:
  SlowTestModel() { write_tiny_model_dir(dir_ / "slow", 3, "demo"); }
  TempDir dir_;
};

struct GrpcTestServerOptions {
  bool admin = false;       // take admin calls (with test_admin_token)
  bool slow_model = false;  // also serve SlowTestModel as "slow"
};

class GrpcTestServer {
 public:
  explicit GrpcTestServer(GrpcTestServerOptions test_options = {}) {
    serve::ServiceOptions options;
    options.threads = 1;  // the test machine's cores are shared
    service_ = std::make_unique<serve::Service>(options);
    service_->add_model("tiny", ServeTestModels::get().first());
    service_->add_model("tiny2", ServeTestModels::get().second());
    if (test_options.slow_model) service_->add_model("slow", SlowTestModel::get());
    serve::GrpcServerOptions server_options;
    server_options.address = "127.0.0.1:0";
    if (test_options.admin) {
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
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::unique_ptr<v1::Inference::Stub> inference() const { return v1::Inference::NewStub(channel_); }
  std::unique_ptr<v1::Admin::Stub> admin() const { return v1::Admin::NewStub(channel_); }

  // The value of a metric line in the Service's Prometheus text, named with its labels as printed
  // (`sieve_active_sequences`, `sieve_request_errors_total{route="",...}`); nullopt when absent.
  std::optional<double> metric(const std::string& name) const {
    std::istringstream lines(service_->metrics_text());
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
    }
    return std::nullopt;
  }

  // Waits up to `timeout` for metric `name` to read `expected` (the scheduler updates its
  // gauges and counters just after a sequence ends, not atomically with the answer).
  bool wait_for_metric(const std::string& name, double expected,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (metric(name) == expected) return true;
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // Waits until no sequence runs and no KV cache is held.
  bool wait_until_idle() const {
    return wait_for_metric("sieve_active_sequences", 0) && wait_for_metric("sieve_kv_cache_bytes", 0);
  }

 private:
  TempDir dir_;  // the admin token file
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

// A request for the slow model that runs for about a second (200 tokens) unless stopped.
inline v1::GenerateRequest long_slow_request() {
  v1::GenerateRequest request = tiny_request("the quick brown fox", 200);
  request.set_model("slow");
  return request;
}

}  // namespace sieve::testing
