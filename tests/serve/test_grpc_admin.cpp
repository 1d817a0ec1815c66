// sieve.v1.Admin: the bearer token guards every call; with it, LoadModel swaps in a new version,
// a directory that fails validation is refused while the old version serves on, SetRoute adds a
// route (and its health status), GetExperiment summarizes it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "grpc_test_server.h"

namespace {

using sieve::testing::GrpcTestServer;
using sieve::testing::ServeTestModels;
using sieve::testing::test_admin_token;
using sieve::testing::tiny_request;
namespace v1 = sieve::v1;

void authorize(grpc::ClientContext& context, const std::string& token = test_admin_token) {
  context.AddMetadata("authorization", "Bearer " + token);
}

TEST(GrpcAdmin, WithoutATokenFileEveryCallIsUnauthenticated) {
  GrpcTestServer server({.admin = false});
  grpc::ClientContext context;
  authorize(context);  // even a token is refused: there is none to compare with
  v1::SetRouteRequest request;
  request.set_name("ab");
  request.set_spec("tiny:50,tiny2:50");
  v1::SetRouteResponse response;
  const grpc::Status status = server.admin()->SetRoute(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "admin API is off; start with --admin-token-file");
  EXPECT_TRUE(server.service().routes().empty());
}

TEST(GrpcAdmin, AMissingOrWrongTokenIsUnauthenticated) {
  GrpcTestServer server({.admin = true});
  v1::LoadModelRequest request;
  request.set_model("tiny");
  v1::LoadModelResponse response;
  {
    grpc::ClientContext context;
    const grpc::Status status = server.admin()->LoadModel(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_NE(status.error_message().find("authorization"), std::string::npos) << status.error_message();
  }
  for (const std::string& value :
       {std::string("Bearer wrong"), std::string(test_admin_token), std::string("Bearer ")}) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", value);
    EXPECT_EQ(server.admin()->LoadModel(&context, request, &response).error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << value;
  }
  EXPECT_EQ(server.service().models().front().version, 1);
}

TEST(GrpcAdmin, LoadModelServesTheNewVersionAndRefusesABrokenDirectory) {
  GrpcTestServer server({.admin = true});
  {
    grpc::ClientContext context;
    authorize(context);
    v1::LoadModelRequest request;
    request.set_model("tiny");
    request.set_directory(ServeTestModels::get().second().string());
    v1::LoadModelResponse response;
    const grpc::Status status = server.admin()->LoadModel(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.model().name(), "tiny");
    EXPECT_EQ(response.model().version(), 2);
    EXPECT_EQ(response.model().directory(), ServeTestModels::get().second().string());
  }
  {
    grpc::ClientContext context;
    authorize(context);
    v1::LoadModelRequest request;
    request.set_model("tiny");
    request.set_directory(ServeTestModels::get().corrupt().string());
    v1::LoadModelResponse response;
    const grpc::Status status = server.admin()->LoadModel(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  }
  {
    grpc::ClientContext context;
    authorize(context);
    v1::LoadModelRequest request;
    request.set_model("no-such-model");
    v1::LoadModelResponse response;
    EXPECT_EQ(server.admin()->LoadModel(&context, request, &response).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  grpc::ClientContext context;
  v1::GenerateResponse response;
  ASSERT_TRUE(server.inference()->Generate(&context, tiny_request("after the reload", 4), &response).ok());
  EXPECT_EQ(response.version(), 2);
}

TEST(GrpcAdmin, SetRouteThenGetExperiment) {
  GrpcTestServer server({.admin = true});
  {
    grpc::ClientContext context;
    authorize(context);
    v1::SetRouteRequest request;
    request.set_name("ab");
    request.set_spec("tiny:50,tiny2:50");
    v1::SetRouteResponse response;
    const grpc::Status status = server.admin()->SetRoute(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  {
    grpc::ClientContext context;
    authorize(context);
    v1::SetRouteRequest request;
    request.set_name("bad");
    request.set_spec("tiny:fifty");
    v1::SetRouteResponse response;
    EXPECT_EQ(server.admin()->SetRoute(&context, request, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext context;
    v1::GenerateRequest request = tiny_request("through the route", 4);
    request.set_model("ab");
    v1::GenerateResponse response;
    ASSERT_TRUE(server.inference()->Generate(&context, request, &response).ok());
  }
  // The scheduler records a request just after its answer goes out, so the summary may lag a little.
  nlohmann::json summary;
  for (int attempt = 0; attempt < 100; ++attempt) {
    grpc::ClientContext context;
    authorize(context);
    v1::GetExperimentRequest request;
    request.set_name("ab");
    v1::GetExperimentResponse response;
    const grpc::Status status = server.admin()->GetExperiment(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    summary = nlohmann::json::parse(response.json());
    ASSERT_EQ(summary["variants"].size(), 2u) << response.json();
    if (summary["variants"][0]["requests"].get<int>() + summary["variants"][1]["requests"].get<int>() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(summary["route"], "ab");
  EXPECT_EQ(summary["variants"][0]["requests"].get<int>() + summary["variants"][1]["requests"].get<int>(), 1)
      << summary.dump();
  grpc::ClientContext context;
  authorize(context);
  v1::GetExperimentRequest request;
  request.set_name("no-such-route");
  v1::GetExperimentResponse response;
  EXPECT_EQ(server.admin()->GetExperiment(&context, request, &response).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
