// GET /health (whole server and per model), GET /metrics, and the server's own lifecycle.
#include <gtest/gtest.h>

#include "http_test_server.h"
#include "sieve/core/error.h"

namespace sieve::testing {
namespace {

TEST(HttpHealth, TurnsReadyOnceAModelIsLoaded) {
  HttpTestServer::Setup setup;
  setup.load_model = false;
  HttpTestServer server(setup);
  const auto before = server.get("/health");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 503) << before->body;
  EXPECT_EQ(server.get("/health/tiny")->status, 404);

  server.service().add_model("tiny", server.models().first());
  const auto after = server.get("/health");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200) << after->body;
  EXPECT_EQ(nlohmann::json::parse(after->body), nlohmann::json({{"status", "ok"}}));
  EXPECT_EQ(server.get("/health/tiny")->status, 200);
  EXPECT_EQ(server.get("/health/other")->status, 404);
  EXPECT_EQ(server.client()->Head("/health")->status, 200);

  server.service().drain(std::chrono::seconds(5));
  EXPECT_EQ(server.get("/health")->status, 503);
  EXPECT_EQ(server.get("/health/tiny")->status, 503);
  const auto refused = server.post_json("/v1/completions", {{"model", "tiny"}, {"prompt", "a"}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503) << refused->body;
}

TEST(HttpHealth, MetricsArePrometheusText) {
  HttpTestServer server;
  ASSERT_EQ(server.post_json("/v1/completions", {{"model", "tiny"}, {"prompt", "a"}, {"max_tokens", 2}})->status, 200);
  const auto metrics = server.get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4");
  EXPECT_GE(metric_value(metrics->body, "sieve_active_sequences"), 0) << metrics->body;
}

TEST(HttpServerLifecycle, APortInUseIsAClearError) {
  HttpTestServer server;
  serve_http::HttpServerOptions options;
  options.port = server.port();
  serve_http::HttpServer second(server.service(), options);
  try {
    second.start();
    FAIL() << "bound a port in use";
  } catch (const core::UserError& error) {
    EXPECT_NE(std::string(error.what()).find("127.0.0.1:" + std::to_string(server.port())), std::string::npos)
        << error.what();
  }
  EXPECT_EQ(server.get("/health")->status, 200);
}

TEST(HttpServerLifecycle, StopsPromptlyAndTwice) {
  HttpTestServer server;
  serve_http::HttpServerOptions options;
  options.port = 0;
  serve_http::HttpServer other(server.service(), options);
  other.start();
  EXPECT_GT(other.port(), 0);
  other.stop();
  other.stop();
  httplib::Client client("127.0.0.1", other.port());
  EXPECT_FALSE(client.Get("/health"));
}

}  // namespace
}  // namespace sieve::testing
