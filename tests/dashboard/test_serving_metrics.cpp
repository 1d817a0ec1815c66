#include <gtest/gtest.h>

#include <cmath>

#include "apps/dashboard/serving/prometheus_text.h"
#include "apps/dashboard/serving/serving_snapshot.h"
#include "apps/dashboard/serving/serving_watch.h"
#include "sieve/core/error.h"

namespace sieve::dashboard {
namespace {

TEST(PrometheusText, ReadsSamplesLabelsAndSpecialValues) {
  const auto samples = parse_prometheus_text(
      "# HELP x A help line.\n# TYPE x counter\n\n"
      "x 3\r\n"
      "y{a=\"1\",b=\"q\\\"uo\\\\te\\n\"} 2.5 1700000000000\n"
      "  z_bucket{le=\"+Inf\"} +Inf\n"
      "nan_value NaN\n");
  ASSERT_EQ(samples.size(), 4u);
  EXPECT_EQ(samples[0].name, "x");
  EXPECT_EQ(samples[0].value, 3.0);
  EXPECT_EQ(samples[1].labels.at("a"), "1");
  EXPECT_EQ(samples[1].labels.at("b"), "q\"uo\\te\n");
  EXPECT_EQ(samples[1].value, 2.5);
  EXPECT_TRUE(std::isinf(samples[2].value));
  EXPECT_TRUE(std::isnan(samples[3].value));
}

TEST(PrometheusText, RefusesMalformedLinesNamingThem) {
  for (const char* text : {"x\n", "x{a=\"1\" 2\n", "x{a=1} 2\n", "x{a=\"1\"} two\n", "{a=\"1\"} 2\n", "x{a=\"\\",
                           "x 1\ny{ 2\n"}) {
    try {
      parse_prometheus_text(text);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const core::UserError& error) {
      EXPECT_NE(std::string(error.what()).find("metrics line"), std::string::npos) << error.what();
    }
  }
}

TEST(PrometheusText, BoundsTheSamplesItKeeps) {
  std::string text;
  for (std::size_t i = 0; i <= kMaxPrometheusSamples; ++i) text += "x 1\n";
  EXPECT_THROW(parse_prometheus_text(text), core::UserError);
}

TEST(ServingSnapshot, QuantilesInterpolateInsideTheirBucket) {
  const HistogramBuckets buckets = {{0.01, 10}, {0.1, 30}, {1.0, 40}, {INFINITY, 40}};
  EXPECT_NEAR(*histogram_quantile_ms(0.5, buckets), 10 + 90 * (20 - 10) / 20.0, 1e-9);  // 55 ms
  EXPECT_NEAR(*histogram_quantile_ms(0.25, buckets), 10.0, 1e-9);
  EXPECT_NEAR(*histogram_quantile_ms(0.95, buckets), 100 + 900 * (38 - 30) / 10.0, 1e-9);
  EXPECT_FALSE(histogram_quantile_ms(0.5, {{0.01, 0}, {INFINITY, 0}}));
  EXPECT_NEAR(*histogram_quantile_ms(0.99, {{0.01, 0}, {1.0, 0}, {INFINITY, 5}}), 1000.0, 1e-9);  // past the last bound
}

TEST(ServingSnapshot, VariantsRatesAndGaugesFromTwoScrapes) {
  const auto scrape = [](double requests, double tokens, double fast, double all) {
    return parse_prometheus_text(
        "sieve_queued_requests 2\nsieve_active_sequences 1\nsieve_model_version{model=\"a\"} 3\n"
        "sieve_requests_total{route=\"r\",model=\"a\",shadow=\"false\"} " + std::to_string(requests) + "\n"
        "sieve_request_errors_total{route=\"r\",model=\"a\",code=\"internal\"} 1\n"
        "sieve_completion_tokens_total{route=\"r\",model=\"a\"} " + std::to_string(tokens) + "\n"
        "sieve_request_duration_seconds_bucket{route=\"r\",model=\"a\",le=\"0.1\"} " + std::to_string(fast) + "\n"
        "sieve_request_duration_seconds_bucket{route=\"r\",model=\"a\",le=\"+Inf\"} " + std::to_string(all) + "\n"
        "sieve_refused_requests_total{route=\"r\",code=\"resource_exhausted\"} 4\n");
  };
  const ServingSnapshot before = serving_snapshot(scrape(10, 100, 10, 10), 100.0);
  const ServingSnapshot now = serving_snapshot(scrape(30, 500, 10, 30), 102.0);
  const nlohmann::json view = snapshot_json(now);
  EXPECT_EQ(view["models"]["a"], 3.0);
  EXPECT_EQ(view["gauges"]["queued"], 2.0);
  EXPECT_EQ(view["refused"]["resource_exhausted"], 4.0);
  ASSERT_EQ(view["variants"].size(), 1u);
  EXPECT_EQ(view["variants"][0]["requests"], 30.0);
  EXPECT_EQ(view["variants"][0]["errors"], 1.0);
  const nlohmann::json point = history_point(before, now);
  EXPECT_EQ(point["t"], 102.0);
  EXPECT_EQ(point["variants"][0]["requests_per_s"], 10.0);
  EXPECT_EQ(point["variants"][0]["tokens_per_s"], 200.0);
  // The 20 requests of the interval all took over 100 ms: the interval's p95 is the last bound.
  EXPECT_EQ(point["variants"][0]["p95_ms"], 100.0);
}

TEST(ServingWatch, ServeUrlsAreHttpHostAndPort) {
  EXPECT_EQ(parse_serve_url("http://127.0.0.1:8080"), std::make_pair(std::string("127.0.0.1"), 8080));
  EXPECT_EQ(parse_serve_url("http://[::1]:9/"), std::make_pair(std::string("::1"), 9));
  for (const char* bad : {"127.0.0.1:8080", "https://h:1", "http://h", "http://h:0", "http://h:99999", "http://h:1/x",
                          "http://:80", "http://h:8o"})
    EXPECT_THROW(parse_serve_url(bad), core::UserError) << bad;
}

}  // namespace
}  // namespace sieve::dashboard
