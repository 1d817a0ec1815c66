// `sieve bench serve`: bad flags, a host off this machine and a port where nothing listens are
// clear errors (never exit 3 or a crash), with the report still printed; and a short run over
// HTTP and gRPC, with a hot reload, against a `sieve serve` started on free loopback ports.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "made_up_corpus.h"
#include "run_sieve.h"
#include "server_process.h"
#include "temp_dir.h"

namespace {

using sieve::testing::CommandResult;
using sieve::testing::run_sieve;

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// The last line of `output` that parses as a JSON object (null when none does).
nlohmann::json last_json_line(const std::string& output) {
  nlohmann::json found;
  std::size_t start = 0;
  while (start < output.size()) {
    const std::size_t end = std::min(output.find('\n', start), output.size());
    const nlohmann::json line = nlohmann::json::parse(output.substr(start, end - start), nullptr, false);
    if (!line.is_discarded() && line.is_object()) found = line;
    start = end + 1;
  }
  return found;
}

void expect_clear_error(const std::string& flags, const std::string& message) {
  const CommandResult result = run_sieve("bench serve " + flags);
  EXPECT_NE(result.exit_code, 0) << flags << "\n" << result.output;
  EXPECT_NE(result.exit_code, 3) << flags << "\n" << result.output;  // an internal error
  EXPECT_NE(result.exit_code, -1) << flags << "\n" << result.output;  // a crash
  EXPECT_TRUE(contains(result.output, message)) << flags << "\n" << result.output;
}

TEST(BenchServeCli, RefusesHostsOffThisMachine) {
  for (const std::string flag : {"--http", "--grpc"})
    for (const std::string host : {"10.0.0.1:8080", "192.168.1.1:80", "example.com:50051", "0.0.0.0:8080",
                                   "[2001:db8::1]:8080", "127.0.0.2:8080"})
      expect_clear_error(flag + " " + host + " --model m", "the host must be 127.0.0.1, [::1] or localhost");
}

TEST(BenchServeCli, BadFlagsAreClearErrors) {
  expect_clear_error("--http 127.0.0.1:8080", "--model is required");
  expect_clear_error("--model m", "exactly one of --http HOST:PORT or --grpc HOST:PORT");
  expect_clear_error("--model m --http 127.0.0.1:1 --grpc 127.0.0.1:2", "exactly one of");
  expect_clear_error("--model m --http 127.0.0.1", "expected HOST:PORT");
  expect_clear_error("--model m --http 127.0.0.1:99999", "the port must be a number in 1..65535");
  expect_clear_error("--model m --http 127.0.0.1:80x", "the port must be a number in 1..65535");
  const std::string target = "--model m --http 127.0.0.1:8080 ";
  expect_clear_error(target + "--clients 0", "--clients must be in 1..1024");
  expect_clear_error(target + "--clients 5000", "--clients must be in 1..1024");
  expect_clear_error(target + "--clients many", "--clients");
  expect_clear_error(target + "--requests -1", "--requests must be >= 0");
  expect_clear_error(target + "--requests 0", "--requests 0 (no count limit) needs --duration-s");
  expect_clear_error(target + "--duration-s -2", "--duration-s must be >= 0");
  expect_clear_error(target + "--rate -1", "--rate must be > 0");
  expect_clear_error(target + "--max-tokens 0", "--max-tokens must be >= 1");
  expect_clear_error(target + "--temperature -0.5", "--temperature must be >= 0");
  expect_clear_error(target + "--client-keys -3", "--client-keys must be >= 0");
  expect_clear_error(target + "--request-timeout-s 0", "--request-timeout-s must be > 0");
  expect_clear_error(target + "--prompts /nonexistent/prompts.txt", "cannot read the file");
  expect_clear_error(target + "--prompt hi --prompts p.txt", "excludes");
  expect_clear_error(target + "--admin-reload-after-s 5", "needs --admin-token-file and --reload-dir");
  expect_clear_error(target + "--reload-dir /tmp", "go with --admin-reload-after-s");
}

TEST(BenchServeCli, ReloadFlagsAreChecked) {
  sieve::testing::TempDir dir;
  std::ofstream(dir / "empty-token").close();
  std::ofstream(dir / "prompts.txt") << "\n\n";
  const std::string target = "--model m --http 127.0.0.1:8080 ";
  const std::string reload = target + "--admin-reload-after-s 1 --reload-dir " + dir.path().string();
  expect_clear_error(reload + " --admin-token-file " + (dir / "empty-token").string(), "the file is empty");
  expect_clear_error(reload + " --admin-token-file " + (dir / "missing").string(), "cannot read the file");
  expect_clear_error(target + "--admin-reload-after-s 1 --admin-token-file " + (dir / "empty-token").string() +
                         " --reload-dir " + (dir / "nowhere").string(),
                     "no such directory");
  expect_clear_error(target + "--prompts " + (dir / "prompts.txt").string(), "the file has no prompt");
}

// Every request fails to connect: the report names the errors by code, then the run fails.
TEST(BenchServeCli, NoServerIsReportedAndFails) {
  for (const std::string flag : {"--http", "--grpc"}) {
    const CommandResult result = run_sieve("bench serve " + flag + " 127.0.0.1:" + std::to_string(sieve::testing::free_port()) +
                                           " --model m --clients 2 --requests 3 --request-timeout-s 5 --json");
    EXPECT_EQ(result.exit_code, 2) << result.output;
    EXPECT_TRUE(contains(result.output, "sieve: error: none of the 3 requests succeeded")) << result.output;
    const nlohmann::json report = last_json_line(result.output);
    ASSERT_TRUE(report.is_object()) << result.output;
    EXPECT_EQ(report["requests"], 3);
    EXPECT_EQ(report["errors"], 3);
    EXPECT_TRUE(report["p50_ms"].is_null());
    EXPECT_EQ(report["error_codes"].size(), 1u) << report.dump();
    EXPECT_TRUE(report["error_codes"].contains(flag == "--http" ? "connect_failed" : "grpc_UNAVAILABLE"))
        << report.dump();
  }
}

TEST(BenchServeCli, HelpSaysWhatTimeToFirstTokenMeans) {
  const CommandResult help = run_sieve("bench serve --help");
  EXPECT_EQ(help.exit_code, 0) << help.output;
  EXPECT_TRUE(contains(help.output, "without --stream it equals the latency")) << help.output;
  EXPECT_TRUE(contains(help.output, "loopback only")) << help.output;
}

// Runs `sieve bench serve FLAGS --json` and returns its report, checking what every run must have.
nlohmann::json bench_report(const std::string& flags) {
  const CommandResult result = run_sieve("bench serve " + flags + " --json");
  EXPECT_EQ(result.exit_code, 0) << flags << "\n" << result.output;
  const nlohmann::json report = last_json_line(result.output);
  for (const char* key : {"qps", "tokens_per_s", "p50_ms", "p90_ms", "p99_ms", "ttft_p50_ms", "ttft_p99_ms", "errors",
                          "requests"})
    EXPECT_TRUE(report.contains(key)) << key << " missing from " << result.output;
  return report;
}

TEST(BenchServeCli, DrivesSieveServeOverHttpAndGrpcThroughAHotReload) {
  sieve::testing::TempDir dir;
  sieve::testing::write_made_up_corpus(dir / "corpus.txt", 5);
  const CommandResult trained = run_sieve("train --data " + (dir / "corpus.txt").string() + " --out " +
                                          (dir / "model").string() +
                                          " --preset tiny --batch 2 --context 32 --steps 2 --warmup 1 "
                                          "--val-fraction 0.05 --eval-windows 2");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  std::ofstream(dir / "token") << "bench-serve-test-token\n";
  const int http = sieve::testing::free_port(), grpc = sieve::testing::free_port();
  sieve::testing::ServerProcess server(
      {"--model", "tiny=" + (dir / "model").string(), "--http", "127.0.0.1:" + std::to_string(http), "--grpc",
       "127.0.0.1:" + std::to_string(grpc), "--admin-token-file", (dir / "token").string()},
      dir / "serve.log");
  ASSERT_TRUE(server.wait_ready(http)) << server.log();

  const std::string load = " --model tiny --clients 4 --max-tokens 8";
  const nlohmann::json over_http = bench_report("--http 127.0.0.1:" + std::to_string(http) + load + " --requests 8");
  EXPECT_EQ(over_http.at("requests"), 8) << over_http.dump();
  ASSERT_EQ(over_http.at("errors"), 0) << over_http.dump();
  EXPECT_GT(over_http.at("tokens_per_s").get<double>(), 0.0) << over_http.dump();

  const nlohmann::json streamed =
      bench_report("--grpc 127.0.0.1:" + std::to_string(grpc) + load + " --requests 8 --stream --client-keys 3");
  ASSERT_EQ(streamed.at("errors"), 0) << streamed.dump();
  EXPECT_LE(streamed.at("ttft_p50_ms").get<double>(), streamed.at("p99_ms").get<double>()) << streamed.dump();

  const nlohmann::json reloaded =
      bench_report("--http 127.0.0.1:" + std::to_string(http) + load +
                   " --requests 0 --duration-s 2 --admin-reload-after-s 0.5 --admin-token-file " +
                   (dir / "token").string() + " --reload-dir " + (dir / "model").string());
  ASSERT_EQ(reloaded.at("errors"), 0) << reloaded.dump();
  ASSERT_TRUE(reloaded.contains("reloads") && reloaded.at("reloads").size() == 1) << reloaded.dump();
  EXPECT_FALSE(reloaded.at("reloads")[0].contains("error")) << reloaded.dump();
  // Answers came from the reloaded version too.
  EXPECT_TRUE(reloaded.value("versions", nlohmann::json::object()).contains("2")) << reloaded.dump();
}

}  // namespace
