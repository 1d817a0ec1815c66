// `sieve serve` as users run it: the check forms (health, an OpenAI completion equal to
// what `sieve generate` prints), a SIGHUP reload, bad flags, and a graceful SIGTERM that lets an
// in-flight request finish.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "run_sieve.h"
#include "serve_test_models.h"
#include "server_process.h"

namespace {

using nlohmann::json;
using sieve::testing::free_port;
using sieve::testing::ServerProcess;
using sieve::testing::ServeTestModels;

json completion(int port, const json& body) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(60, 0);
  const auto response = client.Post("/v1/completions", body.dump(), "application/json");
  if (!response) return json{{"transport_error", httplib::to_string(response.error())}};
  json answer = json::parse(response->body, nullptr, false);
  answer["http_status"] = response->status;
  return answer;
}

TEST(ServeCli, AnswersLikeGenerateReloadsOnSighupAndDrainsOnSigterm) {
  sieve::testing::TempDir dir;
  const auto& models = ServeTestModels::get();
  const int http = free_port();
  ServerProcess server({"--model", "tiny=" + models.first().string(), "--http", "127.0.0.1:" + std::to_string(http),
                        "--max-batch", "4"},
                       dir / "serve.log");
  ASSERT_TRUE(server.wait_ready(http)) << server.log();

  const json answer =
      completion(http, {{"model", "tiny"}, {"prompt", "ab cd"}, {"max_tokens", 16}, {"temperature", 0}, {"seed", 1}});
  ASSERT_EQ(answer.value("http_status", 0), 200) << answer.dump();
  EXPECT_EQ(answer["object"], "text_completion");
  EXPECT_EQ(answer["model"], "tiny");
  EXPECT_TRUE(answer["id"].get<std::string>().starts_with("cmpl-"));
  const std::string text = answer["choices"][0]["text"];
  EXPECT_LE(answer["usage"]["completion_tokens"].get<int>(), 16);
  const auto generated = sieve::testing::run_sieve("generate --model " + models.first().string() +
                                                   " --prompt 'ab cd' --max-new-tokens 16 --temperature 0 --seed 1");
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  EXPECT_EQ(generated.output, "ab cd" + text + "\n");

  server.signal(SIGHUP);  // every model again from its directory: version 2
  httplib::Client client("127.0.0.1", http);
  int version = 0;
  for (int i = 0; i < 100 && version != 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (const auto listed = client.Get("/v1/models"); listed && listed->status == 200)
      version = json::parse(listed->body)["data"][0]["sieve"]["version"].get<int>();
  }
  EXPECT_EQ(version, 2) << server.log();

  // A long request in flight when SIGTERM arrives still finishes.
  auto in_flight = std::async(std::launch::async, [&] {
    return completion(http, {{"model", "tiny"}, {"prompt", "ab"}, {"max_tokens", 100}, {"seed", 3}});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.signal(SIGTERM);
  const json drained = in_flight.get();
  EXPECT_EQ(drained.value("http_status", 0), 200) << drained.dump() << server.log();
  EXPECT_EQ(server.wait_exit(), 0) << server.log();
}

TEST(ServeCli, BadFlagsAndModelsAreClearErrors) {
  const auto& models = ServeTestModels::get();
  struct Case {
    std::string args, words;
  };
  for (const Case& c : {Case{"serve --model tiny", "NAME=VALUE"},
                        Case{"serve --model tiny=/no/such/dir", "no directory '/no/such/dir'"},
                        Case{"serve --model tiny=" + models.corrupt().string() + " --http 127.0.0.1:0",
                             "model.safetensors"},
                        Case{"serve --model tiny=" + models.first().string() + " --http 127.0.0.1:99999", "bad port"},
                        Case{"serve --model tiny=" + models.first().string() + " --max-batch 0", "--max-batch"},
                        Case{"serve --model tiny=" + models.first().string() + " --route x=tiny:0 --http 127.0.0.1:0",
                             "weight"},
                        Case{"serve --model tiny=" + models.first().string() + " --admin-token-file /no/such/file",
                             "--admin-token-file"}}) {
    const auto result = sieve::testing::run_sieve(c.args);
    EXPECT_EQ(result.exit_code, 2) << c.args << "\n" << result.output;
    EXPECT_NE(result.output.find(c.words), std::string::npos) << c.args << "\n" << result.output;
  }
}

}  // namespace
