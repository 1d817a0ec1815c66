// The serving core in-process: continuous batching gives what unbatched generation gives, hot
// updates under load drop nothing, the queue bound answers at once, cancellation and deadlines
// free the sequence, and bad requests are refused with the parameter named.
#include <gtest/gtest.h>

#include <atomic>
#include <regex>
#include <thread>

#include "serve_test_models.h"
#include "sieve/serve/service.h"

namespace {

using namespace sieve;
using namespace std::chrono_literals;
using serve::Code;
using serve::CompletionRequest;
using sieve::testing::ServeTestModels;

CompletionRequest request(const std::string& model, const std::string& prompt, std::int64_t max_tokens,
                          float temperature, std::uint64_t seed) {
  CompletionRequest r;
  r.model = model;
  r.prompt = prompt;
  r.max_tokens = max_tokens;
  r.temperature = temperature;
  r.seed = seed;
  return r;
}

// The value of an unlabelled metric line ("name value").
double metric(const std::string& text, const std::string& name) {
  std::smatch match;
  const std::regex line("(^|\n)" + name + " ([0-9.e+-]+)");
  return std::regex_search(text, match, line) ? std::stod(match[2]) : -1.0;
}

void expect_idle(const serve::Service& service) {
  for (int i = 0; i < 200 && metric(service.metrics_text(), "sieve_active_sequences") != 0.0; ++i)
    std::this_thread::sleep_for(10ms);
  const std::string metrics = service.metrics_text();
  EXPECT_EQ(metric(metrics, "sieve_active_sequences"), 0.0) << metrics;
  EXPECT_EQ(metric(metrics, "sieve_queued_requests"), 0.0) << metrics;
  EXPECT_EQ(metric(metrics, "sieve_kv_cache_bytes"), 0.0) << metrics;
}

TEST(Service, BatchedGenerationGivesTheTokensOfUnbatchedGenerate) {
  const auto& models = ServeTestModels::get();
  for (const std::int64_t max_batch : {8, 1}) {
    serve::ServiceOptions options;
    options.max_batch = max_batch;
    options.max_batch_tokens = 16;  // longer prompts are read in chunks, beside other sequences' decoding
    serve::Service service(options);
    service.add_model("tiny", models.first());
    struct Case {
      std::string prompt;
      float temperature;
      std::uint64_t seed;
    };
    std::vector<Case> cases;
    for (int i = 0; i < 8; ++i)
      cases.push_back({std::string(i % 2 ? "ab cd ef gh ij kl mn op qr st uv wx yz" : "xy") + std::to_string(i),
                       i % 3 == 0 ? 0.0f : 0.8f, static_cast<std::uint64_t>(100 + i)});
    std::vector<std::shared_ptr<serve::Completion>> completions;
    for (const Case& c : cases) {
      auto submitted = service.submit(request("tiny", c.prompt, 12, c.temperature, c.seed));
      ASSERT_TRUE(submitted.status.ok()) << submitted.status.message;
      completions.push_back(submitted.completion);
    }
    for (std::size_t i = 0; i < cases.size(); ++i) {
      const serve::CompletionChunk result = completions[i]->wait();
      ASSERT_TRUE(result.status.ok()) << result.status.message;
      EXPECT_EQ(result.text, sieve::testing::generate_text(models.first(), cases[i].prompt, 12, cases[i].temperature,
                                                           cases[i].seed))
          << "max_batch " << max_batch << ", case " << i;
    }
    expect_idle(service);
  }
}

TEST(Service, HotUpdateUnderLoadDropsNothingAndEachAnswerComesFromOneVersion) {
  const auto& models = ServeTestModels::get();
  serve::Service service({});
  service.add_model("tiny", models.first());
  const std::string prompt = "ab cd";
  const std::string from_first = sieve::testing::generate_text(models.first(), prompt, 8, 0.0f, 1);
  const std::string from_second = sieve::testing::generate_text(models.second(), prompt, 8, 0.0f, 1);
  ASSERT_NE(from_first, from_second);

  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, answers{0}, mismatched{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c)
    clients.emplace_back([&] {
      while (!stop) {
        auto submitted = service.submit(request("tiny", prompt, 8, 0.0f, 1));
        if (!submitted.status.ok()) {
          ++failures;
          continue;
        }
        const auto result = submitted.completion->wait();
        if (!result.status.ok()) ++failures;
        const std::string& expected = submitted.completion->version() == 1 ? from_first : from_second;
        if (result.text != expected) ++mismatched;
        ++answers;
      }
    });
  std::this_thread::sleep_for(200ms);
  serve::ModelInfo loaded;
  const serve::Status reloaded = service.reload_model("tiny", models.second(), &loaded);
  ASSERT_TRUE(reloaded.ok()) << reloaded.message;
  EXPECT_EQ(loaded.version, 2);
  const serve::Status corrupt = service.reload_model("tiny", models.corrupt());
  EXPECT_EQ(corrupt.code, Code::failed_precondition);
  EXPECT_NE(corrupt.message.find("version 2 serves on"), std::string::npos) << corrupt.message;
  std::this_thread::sleep_for(200ms);
  stop = true;
  for (auto& client : clients) client.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatched.load(), 0);
  EXPECT_GT(answers.load(), 8);
  EXPECT_EQ(service.models().front().version, 2);
  auto after = service.submit(request("tiny", prompt, 8, 0.0f, 1));
  ASSERT_TRUE(after.status.ok());
  EXPECT_EQ(after.completion->wait().text, from_second);
  EXPECT_EQ(service.reload_model("nope", models.first()).code, Code::not_found);
}

TEST(Service, AFullQueueRefusesAtOnce) {
  serve::ServiceOptions options;
  options.max_batch = 1;
  options.max_queue = 2;
  serve::Service service(options);
  service.add_model("tiny", ServeTestModels::get().first());
  std::vector<std::shared_ptr<serve::Completion>> accepted;
  int refused = 0;
  for (int i = 0; i < 10; ++i) {
    auto submitted = service.submit(request("tiny", "ab", 100, 1.0f, i));
    if (submitted.status.code == Code::resource_exhausted)
      ++refused;
    else
      accepted.push_back(submitted.completion);
  }
  EXPECT_GE(refused, 6);
  for (const auto& completion : accepted) EXPECT_TRUE(completion->wait().status.ok());
  expect_idle(service);
}

TEST(Service, CancellationAndDeadlinesFreeTheSequence) {
  serve::Service service({});
  service.add_model("tiny", ServeTestModels::get().first());
  auto running = service.submit(request("tiny", "ab", 120, 1.0f, 1));
  ASSERT_TRUE(running.status.ok());
  running.completion->next(1000ms);  // it runs
  running.completion->cancel();
  EXPECT_EQ(running.completion->wait().status.code, Code::cancelled);

  CompletionRequest late = request("tiny", "ab", 120, 1.0f, 2);
  late.deadline = serve::Clock::now() + 1ms;
  auto timed = service.submit(late);
  ASSERT_TRUE(timed.status.ok());
  EXPECT_EQ(timed.completion->wait().status.code, Code::deadline_exceeded);
  expect_idle(service);
}

TEST(Service, BadRequestsAreRefusedWithTheParameterNamed) {
  serve::ServiceOptions options;
  options.max_tokens = 64;
  serve::Service service(options);
  service.add_model("tiny", ServeTestModels::get().first());
  struct Case {
    CompletionRequest request;
    Code code;
    std::string words;
  };
  auto with = [](auto edit) {
    CompletionRequest r = request("tiny", "ab", 4, 1.0f, 1);
    edit(r);
    return r;
  };
  const std::vector<Case> cases = {
      {with([](auto& r) { r.model = "missing"; }), Code::not_found, "no model or route named 'missing'"},
      {with([](auto& r) { r.temperature = -1; }), Code::invalid_argument, "temperature"},
      {with([](auto& r) { r.temperature = std::nanf(""); }), Code::invalid_argument, "temperature"},
      {with([](auto& r) { r.top_p = 0; }), Code::invalid_argument, "top_p"},
      {with([](auto& r) { r.top_k = -2; }), Code::invalid_argument, "top_k"},
      {with([](auto& r) { r.max_tokens = 65; }), Code::invalid_argument, "max_tokens"},
      {with([](auto& r) { r.max_tokens = -1; }), Code::invalid_argument, "max_tokens"},
      {with([](auto& r) { r.stop = {"a", "b", "c", "d", "e"}; }), Code::invalid_argument, "stop"},
      {with([](auto& r) { r.stop = {""}; }), Code::invalid_argument, "stop"},
      {with([](auto& r) { r.prompt = std::string(5000, 'x') + " y"; }), Code::invalid_argument, "prompt"},
      {with([](auto& r) { r.prompt = std::string(1 << 20, 'z'); }), Code::invalid_argument, "prompt"},
  };
  for (const Case& c : cases) {
    const auto submitted = service.submit(c.request);
    EXPECT_EQ(submitted.status.code, c.code) << c.words << ": " << submitted.status.message;
    EXPECT_NE(submitted.status.message.find(c.words), std::string::npos) << submitted.status.message;
  }
  expect_idle(service);
}

TEST(Service, StopStringsEndTheTextBeforeThem) {
  const auto& models = ServeTestModels::get();
  serve::Service service({});
  service.add_model("tiny", models.first());
  const std::string full = sieve::testing::generate_text(models.first(), "ab", 24, 0.0f, 1);
  ASSERT_GE(full.size(), 6u);
  const std::string stop = full.substr(full.size() / 2, 2);
  CompletionRequest r = request("tiny", "ab", 24, 0.0f, 1);
  r.stop = {stop};
  const auto submitted = service.submit(r);
  ASSERT_TRUE(submitted.status.ok());
  const auto result = submitted.completion->wait();
  EXPECT_EQ(result.text, full.substr(0, full.find(stop)));
  EXPECT_EQ(result.finish_reason, serve::FinishReason::stop);
}

}  // namespace

namespace {

TEST(Service, RoutesSplitStickilyAndTheShadowGetsACopyOfEach) {
  const auto& models = ServeTestModels::get();
  serve::ServiceOptions options;
  options.max_queue = 4096;
  serve::Service service(options);
  service.add_model("a", models.first());
  service.add_model("b", models.second());
  service.add_model("c", models.first());
  EXPECT_EQ(service.set_route("a", "b:1").code, Code::invalid_argument);  // a model's name
  EXPECT_EQ(service.set_route("chat", "a:75,missing:25").code, Code::not_found);
  ASSERT_TRUE(service.set_route("chat", "a:75,b:25,shadow=c").ok());
  ASSERT_EQ(service.routes().size(), 1u);

  const int requests = 1200;
  std::map<std::string, std::string> variant_of_key;
  std::vector<std::pair<std::string, std::shared_ptr<serve::Completion>>> sent;
  for (int i = 0; i < requests; ++i) {
    CompletionRequest r = request("chat", "ab", 1, 0.0f, 1);
    r.client_key = "user-" + std::to_string(i % 400);  // each key sends three requests
    auto submitted = service.submit(r);
    ASSERT_TRUE(submitted.status.ok()) << submitted.status.message;
    sent.emplace_back(r.client_key, submitted.completion);
  }
  int to_a = 0;
  for (const auto& [key, completion] : sent) {
    ASSERT_TRUE(completion->wait().status.ok());
    const auto [it, first] = variant_of_key.emplace(key, completion->model());
    EXPECT_EQ(it->second, completion->model()) << "key " << key << " saw two variants";
    to_a += completion->model() == "a";
  }
  EXPECT_NEAR(to_a / double(requests), 0.75, 0.06);  // 400 keys: the split's own spread is ~2%
  expect_idle(service);
  const auto summary = service.experiment("chat");
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ((*summary)["variants"][0]["requests"].get<int>() + (*summary)["variants"][1]["requests"].get<int>(),
            requests);
  EXPECT_EQ((*summary)["shadow"]["requests"].get<int>(), requests) << summary->dump();
  EXPECT_EQ((*summary)["variants"][0]["weight"].get<int>(), 75);
  EXPECT_FALSE(service.experiment("a").has_value());
}

}  // namespace
