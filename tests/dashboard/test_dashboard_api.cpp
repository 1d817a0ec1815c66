// The dashboard's HTTP API without a browser: a DashboardServer on a free loopback port over a
// scratch runs directory, asked with an HTTP client.
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "apps/dashboard/server/dashboard_server.h"
#include "sieve/core/error.h"
#include "jobs_test_runs.h"
#include "temp_dir.h"

namespace sieve::dashboard {
namespace {

void write(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

class DashboardApi : public ::testing::Test {
 protected:
  void SetUp() override {
    write(runs / "alpha" / "metrics.jsonl",
          "{\"event\":\"start\",\"step\":0,\"steps\":20}\n{\"event\":\"train\",\"step\":10,\"loss\":3.5}\n");
    write(runs / "alpha" / "config.json", R"({"hidden_size":64})");
    write(runs / "search" / "trial-01" / "metrics.jsonl", "{\"event\":\"train\",\"step\":5,\"loss\":4.0}\n");
    write(outside / "metrics.jsonl", "{\"event\":\"train\",\"step\":1,\"loss\":1.0,\"secret\":\"outside\"}\n");
    std::filesystem::create_directory_symlink(outside.path(), runs / "escape");
    write(runs.path().parent_path() / "results.jsonl", "");
    sieve::testing::write_made_up_corpus(runs / "corpus.txt", 7);
    DashboardOptions options;
    options.runs = runs.path();
    options.port = 0;
    options.sieve_binary = SIEVE_BINARY;
    options.cores = 1;
    options.threads_per_run = testing::kTestThreads;
    server = std::make_unique<DashboardServer>(options);
    server->start();
    client = std::make_unique<httplib::Client>("127.0.0.1", server->port());
  }

  nlohmann::json post_json(const std::string& path, const std::string& body, int expected_status,
                           bool with_token = true) {
    httplib::Headers headers;
    if (with_token) headers.emplace("Authorization", "Bearer " + server->token());
    const auto reply = client->Post(path.c_str(), headers, body, "application/json");
    EXPECT_TRUE(reply) << path;
    if (!reply) return nullptr;
    EXPECT_EQ(reply->status, expected_status) << path << ": " << reply->body;
    return nlohmann::json::parse(reply->body);
  }

  nlohmann::json get_json(const std::string& path, int expected_status) {
    const auto reply = client->Get(path);
    EXPECT_TRUE(reply) << path;
    if (!reply) return nullptr;
    EXPECT_EQ(reply->status, expected_status) << path << ": " << reply->body;
    EXPECT_EQ(reply->get_header_value("Content-Type"), "application/json") << path;
    return nlohmann::json::parse(reply->body);
  }

  sieve::testing::TempDir runs;
  sieve::testing::TempDir outside;
  std::unique_ptr<DashboardServer> server;
  std::unique_ptr<httplib::Client> client;
};

TEST_F(DashboardApi, ServesTheAppWithItsSecurityHeaders) {
  const auto page = client->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<html"), std::string::npos);
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  const auto plot_library = client->Get("/assets/uPlot.iife.min.js");
  ASSERT_TRUE(plot_library);
  EXPECT_EQ(plot_library->status, 200);
  EXPECT_EQ(plot_library->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(client->Get("/assets/missing.js")->status, 404);
  EXPECT_NE(server->url().find("?token=" + server->token()), std::string::npos);
  EXPECT_EQ(server->token().size(), 32u);
}

TEST_F(DashboardApi, ListsRunsWithTheirLatestMetrics) {
  const nlohmann::json runs_json = get_json("/api/runs", 200);
  ASSERT_EQ(runs_json["runs"].size(), 2u);  // the link out of the runs directory is not listed
  EXPECT_EQ(runs_json["runs"][0]["name"], "alpha");
  EXPECT_EQ(runs_json["runs"][0]["latest"]["loss"], 3.5);
  EXPECT_EQ(runs_json["runs"][0]["steps"], 20);
  EXPECT_EQ(runs_json["runs"][1]["name"], "search/trial-01");
}

TEST_F(DashboardApi, RunPageAndMetricsFromAnIndex) {
  const nlohmann::json detail = get_json("/api/runs/alpha", 200);
  EXPECT_EQ(detail["config"]["hidden_size"], 64);
  EXPECT_EQ(detail["progress"]["step"], 10);
  const nlohmann::json nested = get_json("/api/runs/search%2Ftrial-01/metrics", 200);
  EXPECT_EQ(nested["records"].size(), 1u);
  EXPECT_EQ(nested["next"], 1);
  write(runs / "alpha" / "metrics.jsonl",
        "{\"event\":\"start\",\"step\":0,\"steps\":20}\n{\"event\":\"train\",\"step\":10,\"loss\":3.5}\n"
        "{\"event\":\"train\",\"step\":20,\"loss\":3.1}\n");
  const nlohmann::json more = get_json("/api/runs/alpha/metrics?after=2", 200);
  ASSERT_EQ(more["records"].size(), 1u);
  EXPECT_EQ(more["records"][0]["loss"], 3.1);
  EXPECT_EQ(more["next"], 3);
  EXPECT_EQ(get_json("/api/runs/alpha/metrics?after=x1", 400)["error"]["message"],
            "'after' must be a record index, not 'x1'");
}

TEST_F(DashboardApi, UnknownRunsAre404AndPathsNeverLeaveTheRunsDirectory) {
  EXPECT_EQ(get_json("/api/runs/nope", 404)["error"]["code"], "not_found");
  EXPECT_EQ(get_json("/api/runs/search", 404)["error"]["code"], "not_found");  // a folder of runs, not a run
  for (const char* path : {"/api/runs/..%2F..%2Fetc%2Fpasswd", "/api/runs/%2E%2E", "/api/runs/alpha%2F..%2F..",
                           "/api/runs/%2Fetc", "/api/runs/escape", "/api/runs/escape/metrics"}) {
    const auto reply = client->Get(path);
    ASSERT_TRUE(reply) << path;
    EXPECT_EQ(reply->status, 400) << path << ": " << reply->body;
    EXPECT_EQ(reply->body.find("outside\"}"), std::string::npos) << path;
  }
  for (const char* path : {"/api/runs/../../etc/passwd", "/assets/..%2F..%2Fetc%2Fpasswd", "/api/compare?runs=..%2Fx"}) {
    const auto reply = client->Get(path);
    ASSERT_TRUE(reply) << path;
    EXPECT_GE(reply->status, 400) << path;
    EXPECT_LT(reply->status, 500) << path;
  }
}

TEST_F(DashboardApi, CompareTakesAListOfKnownRuns) {
  const nlohmann::json compared = get_json("/api/compare?runs=alpha,search%2Ftrial-01", 200);
  EXPECT_EQ(compared["final"].size(), 2u);
  get_json("/api/compare?runs=alpha,nope", 404);
  get_json("/api/compare", 400);
}

TEST_F(DashboardApi, AnswersOnlyLoopbackHostNames) {
  const auto reply = client->Get("/api/runs", {{"Host", "attacker.example:8787"}});
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 403);
  const auto localhost = client->Get("/api/runs", {{"Host", "localhost:8787"}});
  ASSERT_TRUE(localhost);
  EXPECT_EQ(localhost->status, 200);
}

TEST_F(DashboardApi, AdviceOnFixtureRunsAndTheMachine) {
  const std::filesystem::path fixtures = std::filesystem::path(SIEVE_FIXTURE_DIR) / "dashboard_runs";
  for (const char* name : {"diverging", "healthy"})
    std::filesystem::copy(fixtures / name, runs / name, std::filesystem::copy_options::recursive);
  const nlohmann::json diverging = get_json("/api/runs/diverging/advice", 200);
  ASSERT_EQ(diverging["suggestions"].size(), 1u);
  EXPECT_EQ(diverging["suggestions"][0]["rule"], "divergence");
  EXPECT_TRUE(diverging["suggestions"][0]["change"].contains("--lr"));
  EXPECT_TRUE(get_json("/api/runs/healthy/advice", 200)["suggestions"].empty());
  get_json("/api/runs/nope/advice", 404);
  const nlohmann::json machine = get_json("/api/machine", 200);
  EXPECT_GE(machine["cores"].get<int>(), 1);
  EXPECT_GT(machine["gemm_gflops"]["fp32"].get<double>(), 0.0);
}

TEST_F(DashboardApi, ServingIsEmptyWithoutServersToWatch) {
  EXPECT_EQ(get_json("/api/serving", 200), nlohmann::json({{"targets", nlohmann::json::array()}}));
}

TEST_F(DashboardApi, WritesNeedTheToken) {
  const std::string form = testing::JobsRunsRoot::tiny_form("t", 5).dump();
  EXPECT_EQ(post_json("/api/launch", form, 401, /*with_token=*/false)["error"]["code"], "unauthenticated");
  const auto wrong = client->Post("/api/launch", {{"Authorization", "Bearer 0123456789abcdef0123456789abcdef"}}, form,
                                  "application/json");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  for (const char* path : {"/api/runs/alpha/stop", "/api/runs/alpha/resume", "/api/runs/alpha/try", "/api/searches"})
    post_json(path, "{}", 401, /*with_token=*/false);
  EXPECT_FALSE(std::filesystem::exists(runs / "t"));
}

TEST_F(DashboardApi, BadRequestsAreRefusedWithTheReason) {
  EXPECT_EQ(post_json("/api/launch", "{not json", 400)["error"]["message"], "the request body must be a JSON object");
  post_json("/api/launch", "[1,2]", 400);
  nlohmann::json form = testing::JobsRunsRoot::tiny_form("t", 5);
  form["dataset"] = "../../etc/passwd";
  post_json("/api/launch", form.dump(), 400);
  form = testing::JobsRunsRoot::tiny_form("../escape", 5);
  post_json("/api/launch", form.dump(), 400);
  form = testing::JobsRunsRoot::tiny_form("t", 5);
  form["lr"] = "fast";
  post_json("/api/launch", form.dump(), 400);
  post_json("/api/runs/nope/stop", "", 404);
  post_json("/api/runs/..%2Fx/resume", "", 400);
  EXPECT_EQ(post_json("/api/runs/alpha/try", R"({"rule":"divergence"})", 400)["error"]["param"], "rule");
  post_json("/api/runs/alpha/try", R"({"rule":7})", 400);
  post_json("/api/searches", R"({"name":"s"})", 400);
  get_json("/api/searches/nope", 404);
  get_json("/api/trials/nope", 404);
  const auto too_big = client->Post("/api/launch", {{"Authorization", "Bearer " + server->token()}},
                                    std::string(2 << 20, ' '), "application/json");
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);
}

TEST_F(DashboardApi, LaunchedRunTrainsIsListedAndCannotBeStoppedOnceFinished) {
  const nlohmann::json launched = post_json("/api/launch", testing::JobsRunsRoot::tiny_form("tiny", 10).dump(), 201);
  EXPECT_EQ(launched["run"], "tiny");
  ASSERT_TRUE(testing::eventually(
      [&] {
        const nlohmann::json runs_json = get_json("/api/runs", 200);
        for (const nlohmann::json& run : runs_json["runs"])
          if (run["name"] == "tiny" && run["status"] == "finished") return true;
        return false;
      },
      std::chrono::seconds(120)));
  const nlohmann::json detail = get_json("/api/runs/tiny", 200);
  EXPECT_EQ(detail["progress"]["step"], 10);
  EXPECT_TRUE(detail["managed"]);
  EXPECT_FALSE(get_json("/api/runs/alpha", 200)["managed"]);  // not started by this dashboard
  EXPECT_EQ(detail["command"]["verb"], "train");
  EXPECT_FALSE(detail["log_tail"].get<std::string>().empty());
  EXPECT_EQ(post_json("/api/runs/tiny/stop", "", 409)["error"]["code"], "conflict");
  post_json("/api/launch", testing::JobsRunsRoot::tiny_form("tiny", 10).dump(), 400);  // the name is taken
}

TEST_F(DashboardApi, MissingRunsDirectoryIsAClearError) {
  DashboardOptions options;
  options.runs = runs / "missing";
  EXPECT_THROW(DashboardServer{options}, core::UserError);
}

}  // namespace
}  // namespace sieve::dashboard
