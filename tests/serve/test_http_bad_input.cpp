// Bad requests to the HTTP API each get a clear status and OpenAI's error JSON, and the server
// keeps serving.
#include <gtest/gtest.h>

#include "http_test_server.h"

namespace sieve::testing {
namespace {

// Checks OpenAI's error shape and returns the error object.
nlohmann::json expect_error(const httplib::Result& result, int status) {
  EXPECT_TRUE(result);
  if (!result) return {};
  EXPECT_EQ(result->status, status) << result->body;
  const auto body = nlohmann::json::parse(result->body, nullptr, false);
  EXPECT_TRUE(body.is_object() && body.contains("error")) << result->body;
  if (!body.is_object() || !body.contains("error")) return {};
  const auto& error = body["error"];
  EXPECT_TRUE(error["message"].is_string() && !error["message"].get<std::string>().empty()) << error;
  EXPECT_EQ(error["type"], status >= 500 ? "server_error" : "invalid_request_error");
  EXPECT_TRUE(error.contains("param") && error.contains("code")) << error;
  return error;
}

nlohmann::json with(const nlohmann::json& patch = nlohmann::json::object()) {
  nlohmann::json request = {{"model", "tiny"}, {"prompt", "abc"}, {"max_tokens", 4}};
  request.merge_patch(patch);
  return request;
}

void expect_still_serving(const HttpTestServer& server) {
  const auto result = server.post_json("/v1/completions", with());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200) << result->body;
}

class HttpBadInput : public ::testing::Test {
 protected:
  HttpTestServer server;
  httplib::Result post_text(const std::string& body) const {
    return server.client()->Post("/v1/completions", body, "application/json");
  }
};

TEST_F(HttpBadInput, MalformedJson) {
  expect_error(post_text("{\"model\": \"tiny\", "), 400);
  expect_error(post_text(""), 400);
  expect_error(post_text("[1, 2]"), 400);
  expect_error(post_text("\"a string\""), 400);
  expect_error(post_text("{\"model\": \"tiny\", \"prompt\": \"\xff\xfe\"}"), 400);  // not UTF-8
  expect_error(post_text(std::string(200'000, '[') + std::string(200'000, ']')), 400);
  expect_still_serving(server);
}

TEST_F(HttpBadInput, WrongTypesNameTheField) {
  const std::vector<std::pair<nlohmann::json, std::string>> cases = {
      {{{"max_tokens", "8"}}, "max_tokens"},
      {{{"max_tokens", 1.5}}, "max_tokens"},
      {{{"temperature", "hot"}}, "temperature"},
      {{{"top_p", true}}, "top_p"},
      {{{"top_k", 2.5}}, "top_k"},
      {{{"seed", "1"}}, "seed"},
      {{{"seed", -1}}, "seed"},
      {{{"stream", "yes"}}, "stream"},
      {{{"stop", 5}}, "stop"},
      {{{"stop", {"a", "b", "c", "d", "e"}}}, "stop"},
      {{{"stop", {1}}}, "stop"},
      {{{"stop", ""}}, "stop"},
      {{{"prompt", 123}}, "prompt"},
      {{{"prompt", {"a", "b"}}}, "prompt"},
      {{{"prompt", {1, 2}}}, "prompt"},
      {{{"prompt", nullptr}}, "prompt"},
      {{{"model", 5}}, "model"},
      {{{"model", nullptr}}, "model"},
      {{{"user", 5}}, "user"},
      {{{"n", 2}}, "n"},
      {{{"echo", true}}, "echo"},
      {{{"logprobs", 1}}, "logprobs"},
      {{{"temperature", 1e300}}, "temperature"},
      {{{"max_tokens", 18446744073709551615ull}}, "max_tokens"},
  };
  for (const auto& [patch, param] : cases) {
    const nlohmann::json error = expect_error(server.post_json("/v1/completions", with(patch)), 400);
    EXPECT_EQ(error["param"], param) << patch;
  }
  expect_still_serving(server);
}

TEST_F(HttpBadInput, UnknownModelIs404) {
  const nlohmann::json error = expect_error(server.post_json("/v1/completions", with({{"model", "nope"}})), 404);
  EXPECT_EQ(error["code"], "not_found");
  EXPECT_EQ(error["param"], "model");
}

TEST_F(HttpBadInput, OutOfRangeParametersAre400) {
  for (const nlohmann::json& patch :
       {nlohmann::json{{"max_tokens", 0}}, nlohmann::json{{"max_tokens", -3}},
        nlohmann::json{{"max_tokens", 1'000'000}}, nlohmann::json{{"temperature", -1}}, nlohmann::json{{"top_p", 1.5}},
        nlohmann::json{{"top_p", -0.1}}, nlohmann::json{{"top_k", -1}}}) {
    expect_error(server.post_json("/v1/completions", with(patch)), 400);
  }
  expect_still_serving(server);
}

TEST_F(HttpBadInput, HugePromptIs400) {
  std::string prompt;
  while (prompt.size() < 200'000) prompt += "abc def ghi ";
  const nlohmann::json error = expect_error(server.post_json("/v1/completions", with({{"prompt", prompt}})), 400);
  EXPECT_EQ(error["code"], "invalid_argument");
  expect_still_serving(server);
}

TEST_F(HttpBadInput, HugeBodyIs413) {
  const std::string huge = with({{"prompt", std::string(2 << 20, 'a')}}).dump();
  expect_error(post_text(huge), 413);
  // The same without a Content-Length: a chunked upload is bounded as it arrives.
  const auto chunked = server.client()->Post(
      "/v1/completions",
      [&](std::size_t offset, httplib::DataSink& sink) {
        sink.write(huge.data() + offset, std::min<std::size_t>(64 << 10, huge.size() - offset));
        if (offset + (64 << 10) >= huge.size()) sink.done();
        return true;
      },
      "application/json");
  ASSERT_TRUE(chunked) << httplib::to_string(chunked.error());
  expect_error(chunked, 413);
  expect_still_serving(server);
}

TEST_F(HttpBadInput, BadDeadlineHeaderIs400) {
  for (const char* value : {"abc", "-5", "0", "12ms", "99999999999999999999"})
    expect_error(server.post_json("/v1/completions", with(), {{"X-Request-Timeout-Ms", value}}), 400);
}

TEST_F(HttpBadInput, AMalformedRequestGetsJsonToo) {
  const RawConnection connection(server.port());
  connection.send("NONSENSE\r\n\r\n");
  const std::string answer = connection.read_until("}}");
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  EXPECT_NE(answer.find(R"("type":"invalid_request_error")"), std::string::npos) << answer;
  expect_still_serving(server);
}

TEST_F(HttpBadInput, UnknownPathsAndMethods) {
  expect_error(server.get("/v2/nothing"), 404);
  expect_error(server.get("/health/"), 404);
  const auto wrong_method = server.get("/v1/completions");
  expect_error(wrong_method, 405);
  EXPECT_EQ(wrong_method->get_header_value("Allow"), "POST");
  expect_error(server.client()->Delete("/v1/models"), 405);
  expect_error(server.get("/" + std::string(5000, 'x')), 414);
  expect_still_serving(server);
}

}  // namespace
}  // namespace sieve::testing
