// Streaming clients that go away mid-stream are cleaned up (the sequence is cancelled and its
// cache freed), a slow reader holds up nobody, and many concurrent streams are served side by side.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

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

double kv_cache_bytes(const HttpTestServer& server) {
  const auto metrics = server.get("/metrics");
  return metrics ? metric_value(metrics->body, "sieve_kv_cache_bytes") : -1;
}

// A streaming client that does not read for a while, behind a small receive window: other
// requests are answered meanwhile, and once it reads, its whole stream arrives and its sequence
// and cache are freed.
TEST(HttpDisconnect, ASlowReaderHoldsUpNoOtherRequest) {
  HttpTestServer server;
  const RawConnection slow(server.port(), 1024);
  const std::string body = nlohmann::json{{"model", "tiny"},    {"prompt", "abc"}, {"max_tokens", 120},
                                          {"temperature", 1.0}, {"seed", 9},       {"stream", true}}
                               .dump();
  slow.send("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            "Content-Length: " +
            std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  for (int request = 0; request < 3; ++request) {
    const auto other = server.post_json("/v1/completions", {{"model", "tiny"}, {"prompt", "xyz"}, {"max_tokens", 4}});
    ASSERT_TRUE(other);
    EXPECT_EQ(other->status, 200) << other->body;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const std::string received = slow.read_until("data: [DONE]");
  EXPECT_NE(received.find("200 OK"), std::string::npos) << received.substr(0, 200);
  EXPECT_NE(received.find("data: [DONE]"), std::string::npos) << received.size() << " bytes";
  EXPECT_TRUE(eventually([&] { return active_sequences(server) == 0 && kv_cache_bytes(server) == 0; }))
      << active_sequences(server) << " sequences, " << kv_cache_bytes(server) << " cache bytes";
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
