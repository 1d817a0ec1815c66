// The admin API over HTTP: the bearer token, hot reload, routes and their experiment summary,
// and the sticky client key as the router sees it.
#include <gtest/gtest.h>

#include "http_test_server.h"

namespace sieve::testing {
namespace {

int version_answering(const HttpTestServer& server, const std::string& model, httplib::Headers headers = {},
                      const std::string& user = "") {
  nlohmann::json request = {{"model", model}, {"prompt", "abc"}, {"max_tokens", 1}};
  if (!user.empty()) request["user"] = user;
  const auto result = server.post_json("/v1/completions", request, headers);
  EXPECT_TRUE(result && result->status == 200) << (result ? result->body : "no answer");
  return result && result->status == 200 ? nlohmann::json::parse(result->body)["sieve"]["version"].get<int>() : -1;
}

httplib::Result put_route(const HttpTestServer& server, const std::string& name, const std::string& body) {
  return server.client()->Put(("/admin/routes/" + name).c_str(), HttpTestServer::admin_headers(), body,
                              "application/json");
}

TEST(HttpAdmin, WithoutTheRightTokenIs401) {
  HttpTestServer server;
  const nlohmann::json body = {{"directory", server.models().second().string()}};
  for (const httplib::Headers& headers :
       {httplib::Headers{}, HttpTestServer::admin_headers("wrong"), httplib::Headers{{"Authorization", kAdminToken}}}) {
    const auto result = server.post_json("/admin/models/tiny", body, headers);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 401) << result->body;
    EXPECT_EQ(result->get_header_value("WWW-Authenticate"), "Bearer");
    EXPECT_EQ(nlohmann::json::parse(result->body)["error"]["code"], "unauthenticated");
  }
  EXPECT_EQ(server.get("/admin/experiments/x")->status, 401);
  EXPECT_EQ(version_answering(server, "tiny"), 1);  // nothing was reloaded
}

TEST(HttpAdmin, OffWithoutATokenFileAndSaysSo) {
  HttpTestServer::Setup setup;
  setup.admin_token = false;
  HttpTestServer server(setup);
  const auto result = server.post_json("/admin/models/tiny", nlohmann::json::object(), HttpTestServer::admin_headers());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
  EXPECT_NE(result->body.find("--admin-token-file"), std::string::npos) << result->body;
}

TEST(HttpAdmin, ReloadSwitchesNewRequestsToTheNewVersion) {
  HttpTestServer server;
  const auto loaded = server.post_json("/admin/models/tiny", {{"directory", server.models().second().string()}},
                                       HttpTestServer::admin_headers());
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->status, 200) << loaded->body;
  const auto info = nlohmann::json::parse(loaded->body);
  EXPECT_EQ(info["name"], "tiny");
  EXPECT_EQ(info["version"], 2);
  EXPECT_EQ(info["directory"], server.models().second().string());
  EXPECT_EQ(info["context_length"], 128);
  EXPECT_EQ(version_answering(server, "tiny"), 2);

  // No body: the serving directory again, as a new version.
  const auto again =
      server.client()->Post("/admin/models/tiny", HttpTestServer::admin_headers(), "", "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
  EXPECT_EQ(version_answering(server, "tiny"), 3);
}

TEST(HttpAdmin, ABadDirectoryIsRejectedAndTheOldVersionServesOn) {
  HttpTestServer server;
  for (const std::filesystem::path& directory : {server.models().first() / "missing", server.models().corrupt()}) {
    const auto result =
        server.post_json("/admin/models/tiny", {{"directory", directory.string()}}, HttpTestServer::admin_headers());
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 422) << result->body;
    EXPECT_FALSE(nlohmann::json::parse(result->body)["error"]["message"].get<std::string>().empty());
  }
  EXPECT_EQ(server.post_json("/admin/models/nope", nlohmann::json::object(), HttpTestServer::admin_headers())->status,
            404);
  EXPECT_EQ(server.post_json("/admin/models/tiny", {{"directory", 5}}, HttpTestServer::admin_headers())->status, 400);
  EXPECT_EQ(version_answering(server, "tiny"), 1);
}

TEST(HttpAdmin, RoutesExperimentsAndTheModelList) {
  HttpTestServer server;
  server.service().add_model("tiny2", server.models().second());
  const auto set = put_route(server, "ab", R"({"spec": "tiny:50,tiny2:50"})");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->status, 200) << set->body;
  EXPECT_EQ(nlohmann::json::parse(set->body)["name"], "ab");
  EXPECT_EQ(put_route(server, "bad", R"({"spec": "nope:1"})")->status, 404);
  EXPECT_EQ(put_route(server, "bad", R"({"spec": 7})")->status, 400);
  EXPECT_EQ(put_route(server, "bad", "")->status, 400);

  const auto list = nlohmann::json::parse(server.get("/v1/models")->body);
  EXPECT_EQ(list["object"], "list");
  std::vector<std::string> ids;
  for (const auto& entry : list["data"]) {
    ids.push_back(entry["id"]);
    EXPECT_EQ(entry["object"], "model");
    EXPECT_EQ(entry["owned_by"], "sieve");
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"tiny", "tiny2", "ab"}));
  EXPECT_EQ(list["data"][0]["sieve"]["version"], 1);
  EXPECT_EQ(list["data"][0]["sieve"]["context_length"], 128);

  // The X-Client-Key header is the sticky key, and wins over `user`.
  for (int k = 0; k < 6; ++k) {
    const std::string key = "client-" + std::to_string(k);
    const auto by_header =
        server.post_json("/v1/completions", {{"model", "ab"}, {"prompt", "a"}, {"max_tokens", 1}, {"user", "x"}},
                         {{"X-Client-Key", key}});
    const auto by_user =
        server.post_json("/v1/completions", {{"model", "ab"}, {"prompt", "a"}, {"max_tokens", 1}, {"user", key}});
    ASSERT_TRUE(by_header && by_user);
    EXPECT_EQ(nlohmann::json::parse(by_header->body)["model"], nlohmann::json::parse(by_user->body)["model"]) << key;
  }

  const auto summary = server.get("/admin/experiments/ab", HttpTestServer::admin_headers());
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->status, 200) << summary->body;
  EXPECT_TRUE(nlohmann::json::parse(summary->body).is_object());
  EXPECT_EQ(server.get("/admin/experiments/none", HttpTestServer::admin_headers())->status, 404);
}

}  // namespace
}  // namespace sieve::testing
