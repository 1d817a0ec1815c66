// The standard grpc.health.v1.Health service as the gRPC health-checking spec says: Check per
// model and route name ("" for the whole server; an unknown name is NOT_FOUND), and Watch
// streams that see NOT_SERVING when the server shuts down.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc_test_server.h"

namespace {

using sieve::testing::GrpcTestServer;
using sieve::testing::test_admin_token;
namespace health = grpc::health::v1;
using Serving = health::HealthCheckResponse;

grpc::Status check(const GrpcTestServer& server, const std::string& name, health::HealthCheckResponse* response) {
  grpc::ClientContext context;
  health::HealthCheckRequest request;
  request.set_service(name);
  return health::Health::NewStub(server.channel())->Check(&context, request, response);
}

TEST(GrpcHealth, CheckAnswersPerModelAndNotFoundForAnUnknownName) {
  GrpcTestServer server;
  for (const char* name : {"", "tiny", "tiny2"}) {
    health::HealthCheckResponse response;
    const grpc::Status status = check(server, name, &response);
    ASSERT_TRUE(status.ok()) << "'" << name << "': " << status.error_message();
    EXPECT_EQ(response.status(), Serving::SERVING) << "'" << name << "'";
  }
  health::HealthCheckResponse response;
  EXPECT_EQ(check(server, "no-such-model", &response).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(GrpcHealth, ARouteSetThroughTheAdminApiGetsAStatus) {
  GrpcTestServer server({.admin = true});
  health::HealthCheckResponse response;
  EXPECT_EQ(check(server, "ab", &response).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext context;
  context.AddMetadata("authorization", fmt::format("Bearer {}", test_admin_token));
  sieve::v1::SetRouteRequest request;
  request.set_name("ab");
  request.set_spec("tiny:50,tiny2:50");
  sieve::v1::SetRouteResponse set;
  ASSERT_TRUE(server.admin()->SetRoute(&context, request, &set).ok());
  ASSERT_TRUE(check(server, "ab", &response).ok());
  EXPECT_EQ(response.status(), Serving::SERVING);
}

TEST(GrpcHealth, WatchSeesNotServingAtShutdown) {
  GrpcTestServer server;
  grpc::ClientContext context;
  health::HealthCheckRequest request;
  request.set_service("tiny");
  auto watch = health::Health::NewStub(server.channel())->Watch(&context, request);
  health::HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), Serving::SERVING);

  std::thread stopper([&] { server.server().shutdown(std::chrono::milliseconds(500)); });
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), Serving::NOT_SERVING);
  while (watch->Read(&response)) EXPECT_EQ(response.status(), Serving::NOT_SERVING);
  EXPECT_FALSE(watch->Finish().ok());
  stopper.join();
}

TEST(GrpcHealth, WatchOfAnUnknownNameSaysServiceUnknown) {
  GrpcTestServer server;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  health::HealthCheckRequest request;
  request.set_service("no-such-model");
  auto watch = health::Health::NewStub(server.channel())->Watch(&context, request);
  health::HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), Serving::SERVICE_UNKNOWN);
  context.TryCancel();
}

}  // namespace
