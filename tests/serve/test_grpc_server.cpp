// The server's life: a taken or malformed address is a user error naming it, and shutdown lets
// calls in flight finish within its deadline and cancels (and frees) those that do not.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "grpc_test_server.h"
#include "sieve/core/error.h"

namespace {

using sieve::testing::GrpcTestServer;
using sieve::testing::tiny_request;
namespace v1 = sieve::v1;

TEST(GrpcServer, AnAddressInUseIsAUserErrorNamingIt) {
  GrpcTestServer server;
  sieve::serve::GrpcServerOptions options;
  options.address = "127.0.0.1:" + std::to_string(server.server().port());
  sieve::serve::GrpcServer second(server.service(), options);
  try {
    second.start();
    FAIL() << "a second server bound a taken port";
  } catch (const sieve::core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find(options.address), std::string::npos) << e.what();
  }
  options.address = "not an address";
  sieve::serve::GrpcServer third(server.service(), options);
  EXPECT_THROW(third.start(), sieve::core::UserError);
  options.address = "127.0.0.1:0";
  options.max_message_bytes = 0;
  sieve::serve::GrpcServer fourth(server.service(), options);
  EXPECT_THROW(fourth.start(), sieve::core::UserError);
}

TEST(GrpcServer, ShutdownLetsACallInFlightFinishWithinTheDeadline) {
  GrpcTestServer server;
  grpc::ClientContext context;
  auto stream = server.inference()->GenerateStream(&context, tiny_request("the quick brown fox", 64));
  v1::GenerateChunk chunk;
  ASSERT_TRUE(stream->Read(&chunk));
  std::thread stopper([&] { server.server().shutdown(std::chrono::seconds(60)); });
  std::string finish_reason;
  while (stream->Read(&chunk)) finish_reason = chunk.finish_reason();
  const grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(finish_reason.empty());
  stopper.join();
}

TEST(GrpcServer, ShutdownCancelsACallPastTheDeadlineAndFreesItsSequence) {
  GrpcTestServer server({.slow_model = true});
  grpc::ClientContext context;
  auto stream = server.inference()->GenerateStream(&context, sieve::testing::long_slow_request());
  v1::GenerateChunk chunk;
  ASSERT_TRUE(stream->Read(&chunk));
  server.server().shutdown(std::chrono::milliseconds(0));
  while (stream->Read(&chunk)) {
  }
  EXPECT_FALSE(stream->Finish().ok());
  EXPECT_TRUE(server.wait_until_idle());
  EXPECT_TRUE(server.wait_for_metric(R"(sieve_request_errors_total{route="slow",model="slow",code="cancelled"})", 1))
      << server.service().metrics_text();
}

}  // namespace
