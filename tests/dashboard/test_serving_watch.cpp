// The serving view's watch over a real `sieve serve` HTTP server (in-process, tests/serve) with
// an A/B route, and over a port where nothing listens.
#include <gtest/gtest.h>

#include "apps/dashboard/serving/serving_watch.h"
#include "http_test_server.h"
#include "jobs_test_runs.h"

namespace sieve::dashboard {
namespace {

using namespace std::chrono_literals;

nlohmann::json variant_of(const nlohmann::json& target, const std::string& model) {
  for (const nlohmann::json& variant : target["variants"])
    if (variant["route"] == "split" && variant["model"] == model) return variant;
  return nullptr;
}

TEST(ServingWatch, ShowsEachVariantOfAnABRouteAndItsHistory) {
  sieve::testing::HttpTestServer server;
  server.service().add_model("tiny2", sieve::testing::HttpTestServer::models().second());
  ASSERT_TRUE(server.service().set_route("split", "tiny:50,tiny2:50").ok());
  ServingWatch watch({"http://127.0.0.1:" + std::to_string(server.port())}, 50ms);
  for (int i = 0; i < 8; ++i) {
    const auto reply = server.post_json("/v1/completions", {{"model", "split"}, {"prompt", "a"}, {"max_tokens", 2}});
    ASSERT_TRUE(reply);
    ASSERT_EQ(reply->status, 200) << reply->body;
  }
  nlohmann::json target;
  ASSERT_TRUE(testing::eventually(
      [&] {
        target = watch.view()["targets"][0];
        const nlohmann::json a = variant_of(target, "tiny");
        const nlohmann::json b = variant_of(target, "tiny2");
        return target["up"] == true && !a.is_null() && !b.is_null() &&
               a["requests"].get<double>() + b["requests"].get<double>() == 8.0 && target["history"].size() >= 2;
      },
      20s))
      << target.dump();
  EXPECT_EQ(target["models"]["tiny"], 1.0);
  const nlohmann::json a = variant_of(target, "tiny");
  EXPECT_GT(a["requests"].get<double>(), 0.0);
  EXPECT_TRUE(a["latency_ms"]["p50"].is_number());
  EXPECT_GT(a["completion_tokens"].get<double>(), 0.0);
  double requests_in_history = 0.0;
  for (const nlohmann::json& point : target["history"])
    for (const nlohmann::json& variant : point["variants"])
      requests_in_history += variant["requests_per_s"].get<double>() * 0.05;
  EXPECT_GT(requests_in_history, 0.0);
}

TEST(ServingWatch, AServerThatDoesNotAnswerIsDownWithTheReason) {
  std::uint16_t closed_port = 0;
  {
    sieve::testing::HttpTestServer server;  // a port that was free a moment ago and is closed now
    closed_port = static_cast<std::uint16_t>(server.port());
  }
  ServingWatch watch({"http://127.0.0.1:" + std::to_string(closed_port)}, 50ms);
  nlohmann::json target;
  ASSERT_TRUE(testing::eventually(
      [&] {
        target = watch.view()["targets"][0];
        return target["error"].is_string();
      },
      10s));
  EXPECT_EQ(target["up"], false);
  EXPECT_NE(target["error"].get<std::string>().find("no answer"), std::string::npos) << target.dump();
  EXPECT_TRUE(target["history"].empty());
}

TEST(ServingWatch, NoTargetsNoThread) { EXPECT_TRUE(ServingWatch({}).view()["targets"].empty()); }

}  // namespace
}  // namespace sieve::dashboard
