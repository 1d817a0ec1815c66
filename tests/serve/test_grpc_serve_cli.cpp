// `sieve serve --grpc` as users run it: gRPC answers what HTTP answers for the same seed, health
// is per model, a taken gRPC port is a clear error, and SIGTERM turns health NOT_SERVING.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "run_sieve.h"
#include "serve_test_models.h"
#include "server_process.h"
#include "sieve/v1/inference.grpc.pb.h"

namespace {

using sieve::testing::free_port;
using sieve::testing::ServerProcess;
using sieve::testing::ServeTestModels;
namespace health = grpc::health::v1;

TEST(GrpcServeCli, AnswersLikeHttpWithHealthPerModelAndDrainsOnSigterm) {
  sieve::testing::TempDir dir;
  const int http = free_port(), grpc_port = free_port();
  ServerProcess server({"--model", "tiny=" + ServeTestModels::get().first().string(), "--http",
                        "127.0.0.1:" + std::to_string(http), "--grpc", "127.0.0.1:" + std::to_string(grpc_port)},
                       dir / "serve.log");
  ASSERT_TRUE(server.wait_ready(http)) << server.log();
  const auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc_port), grpc::InsecureChannelCredentials());

  sieve::v1::GenerateRequest request;
  request.set_model("tiny");
  request.set_prompt("ab cd");
  request.set_max_tokens(16);
  request.set_temperature(0.5f);
  request.set_seed(9);
  grpc::ClientContext context;
  sieve::v1::GenerateResponse response;
  const grpc::Status status = sieve::v1::Inference::NewStub(channel)->Generate(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message() << server.log();

  httplib::Client client("127.0.0.1", http);
  const nlohmann::json body = {
      {"model", "tiny"}, {"prompt", "ab cd"}, {"max_tokens", 16}, {"temperature", 0.5}, {"seed", 9}};
  const auto answer = client.Post("/v1/completions", body.dump(), "application/json");
  ASSERT_TRUE(answer && answer->status == 200);
  EXPECT_EQ(response.text(), nlohmann::json::parse(answer->body)["choices"][0]["text"]);

  const auto health_stub = health::Health::NewStub(channel);
  for (const char* name : {"", "tiny"}) {
    grpc::ClientContext check_context;
    health::HealthCheckRequest check;
    check.set_service(name);
    health::HealthCheckResponse serving;
    ASSERT_TRUE(health_stub->Check(&check_context, check, &serving).ok()) << "'" << name << "'";
    EXPECT_EQ(serving.status(), health::HealthCheckResponse::SERVING) << "'" << name << "'";
  }

  grpc::ClientContext watch_context;
  health::HealthCheckRequest watched;
  watched.set_service("tiny");
  auto watch = health_stub->Watch(&watch_context, watched);
  health::HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), health::HealthCheckResponse::SERVING);
  server.signal(SIGTERM);
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), health::HealthCheckResponse::NOT_SERVING);
  watch_context.TryCancel();
  EXPECT_EQ(server.wait_exit(), 0) << server.log();
}

TEST(GrpcServeCli, ATakenGrpcPortIsAClearError) {
  sieve::testing::TempDir dir;
  const int http = free_port(), grpc_port = free_port();
  const std::string grpc_address = "127.0.0.1:" + std::to_string(grpc_port);
  ServerProcess first({"--model", "tiny=" + ServeTestModels::get().first().string(), "--http",
                       "127.0.0.1:" + std::to_string(http), "--grpc", grpc_address},
                      dir / "first.log");
  ASSERT_TRUE(first.wait_ready(http)) << first.log();
  const auto second = sieve::testing::run_sieve("serve --model tiny=" + ServeTestModels::get().first().string() +
                                                " --http 127.0.0.1:0 --grpc " + grpc_address);
  EXPECT_EQ(second.exit_code, 2) << second.output;
  EXPECT_NE(second.output.find("cannot listen for gRPC on '" + grpc_address + "'"), std::string::npos) << second.output;
  const auto bad = sieve::testing::run_sieve("serve --model tiny=" + ServeTestModels::get().first().string() +
                                             " --http 127.0.0.1:0 --grpc 127.0.0.1:77777");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--grpc"), std::string::npos) << bad.output;
}

}  // namespace
