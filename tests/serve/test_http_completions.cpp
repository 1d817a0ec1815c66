// POST /v1/completions over a real Service: OpenAI's response shape, and server-sent events
// that reassemble to the same text as the unary answer.
#include <gtest/gtest.h>

#include "http_test_server.h"

namespace sieve::testing {
namespace {

nlohmann::json seeded_request(bool stream) {
  return {{"model", "tiny"},  {"prompt", "abc def ghi"},
          {"max_tokens", 12}, {"temperature", 0.8},
          {"top_p", 0.9},     {"top_k", 40},
          {"seed", 1234},     {"stream", stream}};
}

TEST(HttpCompletions, AnswerHasOpenAiShape) {
  HttpTestServer server;
  const auto result = server.post_json("/v1/completions", seeded_request(false));
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
  const auto body = nlohmann::json::parse(result->body);
  EXPECT_EQ(body["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_GT(body["created"].get<std::int64_t>(), 1'600'000'000);
  EXPECT_EQ(body["model"], "tiny");
  ASSERT_EQ(body["choices"].size(), 1u);
  const auto& choice = body["choices"][0];
  EXPECT_TRUE(choice["text"].is_string());
  EXPECT_EQ(choice["index"], 0);
  EXPECT_TRUE(choice["logprobs"].is_null());
  EXPECT_TRUE(choice["finish_reason"] == "stop" || choice["finish_reason"] == "length") << choice;
  const auto& usage = body["usage"];
  EXPECT_GT(usage["prompt_tokens"].get<int>(), 0);
  EXPECT_GE(usage["completion_tokens"].get<int>(), 1);
  EXPECT_LE(usage["completion_tokens"].get<int>(), 12);
  EXPECT_EQ(usage["total_tokens"], usage["prompt_tokens"].get<int>() + usage["completion_tokens"].get<int>());
  EXPECT_EQ(body["sieve"]["version"], 1);
}

TEST(HttpCompletions, StreamReassemblesToTheUnaryText) {
  HttpTestServer server;
  const auto unary = server.post_json("/v1/completions", seeded_request(false));
  ASSERT_TRUE(unary);
  ASSERT_EQ(unary->status, 200) << unary->body;
  const auto whole = nlohmann::json::parse(unary->body);

  const auto streamed = server.post_json("/v1/completions", seeded_request(true));
  ASSERT_TRUE(streamed);
  ASSERT_EQ(streamed->status, 200) << streamed->body;
  EXPECT_EQ(streamed->get_header_value("Content-Type"), "text/event-stream");
  const std::vector<nlohmann::json> events = sse_events(streamed->body);
  ASSERT_GE(events.size(), 2u) << streamed->body;
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    const auto& event = events[i];
    EXPECT_EQ(event["object"], "text_completion");
    EXPECT_EQ(event["id"], events[0]["id"]);
    const bool last = i + 2 == events.size();
    EXPECT_EQ(event["choices"][0]["finish_reason"].is_null(), !last) << event;
    text += event["choices"][0]["text"].get<std::string>();
  }
  const auto& last = events[events.size() - 2];
  EXPECT_EQ(text, whole["choices"][0]["text"]);
  EXPECT_EQ(last["choices"][0]["finish_reason"], whole["choices"][0]["finish_reason"]);
  EXPECT_EQ(last["usage"], whole["usage"]);
  EXPECT_EQ(last["sieve"]["version"], 1);
}

TEST(HttpCompletions, AcceptsAPromptArrayOfOneAndIgnoresUnknownFields) {
  HttpTestServer server;
  const auto result = server.post_json("/v1/completions", {{"model", "tiny"},
                                                           {"prompt", nlohmann::json::array({"abc"})},
                                                           {"max_tokens", 2},
                                                           {"frobnicate", true},
                                                           {"n", 1}});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200) << result->body;
}

TEST(HttpCompletions, NamedNoMaxTokensGetsTheServiceDefault) {
  HttpTestServer::Setup setup;
  setup.service.default_max_tokens = 3;
  HttpTestServer server(setup);
  const auto result = server.post_json("/v1/completions", {{"model", "tiny"}, {"prompt", "abc"}, {"temperature", 0}});
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_LE(nlohmann::json::parse(result->body)["usage"]["completion_tokens"].get<int>(), 3);
}

TEST(HttpCompletions, TheDeadlineHeaderEndsALateRequestWith504) {
  HttpTestServer server;
  const nlohmann::json request = {{"model", "tiny"}, {"prompt", "abc"}, {"max_tokens", 100}, {"seed", 3}};
  const auto late = server.post_json("/v1/completions", request, {{"X-Request-Timeout-Ms", "1"}});
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 504) << late->body;
  EXPECT_EQ(nlohmann::json::parse(late->body)["error"]["code"], "deadline_exceeded");
  const auto in_time = server.post_json("/v1/completions", request, {{"X-Request-Timeout-Ms", "60000"}});
  ASSERT_TRUE(in_time);
  EXPECT_EQ(in_time->status, 200) << in_time->body;
}

TEST(HttpCompletions, AnErrorAfterTheStreamBeganIsAnErrorEvent) {
  HttpTestServer server;
  const nlohmann::json request = {
      {"model", "tiny"}, {"prompt", "abc"}, {"max_tokens", 100}, {"seed", 3}, {"stream", true}};
  const auto late = server.post_json("/v1/completions", request, {{"X-Request-Timeout-Ms", "1"}});
  ASSERT_TRUE(late);
  ASSERT_EQ(late->status, 200) << late->body;
  const std::vector<nlohmann::json> events = sse_events(late->body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["error"]["code"], "deadline_exceeded") << late->body;
}

}  // namespace
}  // namespace sieve::testing
