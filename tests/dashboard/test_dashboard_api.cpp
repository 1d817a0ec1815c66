// The dashboard's HTTP API without a browser: a DashboardServer on a free loopback port over a
// scratch runs directory, asked with an HTTP client.
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "apps/dashboard/server/dashboard_server.h"
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
    server = std::make_unique<DashboardServer>(DashboardOptions{.runs = runs.path(), .port = 0, .cores = 1});
    server->start();
    client = std::make_unique<httplib::Client>("127.0.0.1", server->port());
  }

  nlohmann::json get_json(const std::string& path, int expected_status) {
    const auto reply = client->Get(path);
    EXPECT_TRUE(reply) << path;
    if (!reply) return nullptr;
    EXPECT_EQ(reply->status, expected_status) << path << ": " << reply->body;
    EXPECT_EQ(reply->get_header_value("Content-Type"), "application/json") << path;
    return nlohmann::json::parse(reply->body);
  }

  testing::TempDir runs;
  testing::TempDir outside;
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

TEST_F(DashboardApi, MissingRunsDirectoryIsAClearError) {
  EXPECT_THROW(DashboardServer(DashboardOptions{.runs = runs / "missing", .port = 0}), std::exception);
}

}  // namespace
}  // namespace sieve::dashboard
