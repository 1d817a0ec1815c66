// Streaming clients that go away mid-stream are cleaned up (the sequence is cancelled and its
// cache freed), and many concurrent streams are served side by side.
#include <gtest/gtest.h>

#include <future>

#include "http_test_server.h"

namespace sieve::testing {
namespace {

// Sends a streaming completion request, reads until the first event arrives, then hangs up
// without reading the rest.
void stream_then_hang_up(int port, const nlohmann::json& request) {
  const RawConnection connection(port);
  const std::string body = request.dump();
  connection.send(
      "POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  const std::string received = connection.read_until("data: ");
  EXPECT_NE(received.find("200 OK"), std::string::npos) << received;
  EXPECT_NE(received.find("data: "), std::string::npos) << received;
}

double active_sequences(const HttpTestServer& server) {
  const auto metrics = server.get("/metrics");
  return metrics ? metric_value(metrics->body, "sieve_active_sequences") : -1;
}

TEST(HttpDisconnect, AClientThatHangsUpMidStreamIsCancelled) {
  HttpTestServer server;
  const nlohmann::json request = {{"model", "tiny"},    {"prompt", "abc"}, {"max_tokens", 120},
                                  {"temperature", 1.0}, {"seed", 5},       {"stream", true}};
  for (int client = 0; client < 3; ++client) stream_then_hang_up(server.port(), request);
  EXPECT_TRUE(eventually([&] { return active_sequences(server) == 0; })) << active_sequences(server);
  const auto after = server.post_json("/v1/completions", {{"model", "tiny"}, {"prompt", "abc"}, {"max_tokens", 4}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200) << after->body;
}

TEST(HttpDisconnect, ConcurrentStreamsAllFinish) {
  HttpTestServer server;
  constexpr int kClients = 16;
  std::vector<std::future<httplib::Result>> streams;
  for (int client = 0; client < kClients; ++client) {
    streams.push_back(std::async(std::launch::async, [&server, client] {
      const nlohmann::json request = {
          {"model", "tiny"}, {"prompt", "abc"}, {"max_tokens", 16}, {"seed", client}, {"stream", true}};
      return server.post_json("/v1/completions", request);
    }));
  }
  for (auto& stream : streams) {
    const httplib::Result result = stream.get();
    ASSERT_TRUE(result) << httplib::to_string(result.error());
    ASSERT_EQ(result->status, 200) << result->body;
    const std::vector<nlohmann::json> events = sse_events(result->body);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back(), "[DONE]") << result->body;
  }
  EXPECT_TRUE(eventually([&] { return active_sequences(server) == 0; }));
}

}  // namespace
}  // namespace sieve::testing
