#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "apps/dashboard/runs/metrics_file.h"
#include "temp_dir.h"

namespace sieve::dashboard {
namespace {

void append(const std::filesystem::path& file, const std::string& text) {
  std::ofstream(file, std::ios::app) << text;
}

TEST(MetricsFile, ReadsAppendedLinesAndWaitsForAPartialOne) {
  const testing::TempDir dir;
  const auto file = dir / "metrics.jsonl";
  MetricsFile metrics(file);
  EXPECT_EQ(metrics.refresh(), 0u);  // no file yet
  append(file, "{\"event\":\"start\",\"step\":0,\"steps\":10}\n{\"event\":\"train\",\"st");
  EXPECT_EQ(metrics.refresh(), 1u);
  append(file, "ep\":1,\"loss\":2.5}\n");
  EXPECT_EQ(metrics.refresh(), 1u);
  ASSERT_EQ(metrics.records().size(), 2u);
  EXPECT_EQ(metrics.records()[1]["loss"], 2.5);
  EXPECT_EQ(metrics.refresh(), 0u);
  EXPECT_GT(metrics.modified_unix_time(), 0.0);
}

TEST(MetricsFile, SkipsLinesThatAreNotRecords) {
  const testing::TempDir dir;
  const auto file = dir / "metrics.jsonl";
  append(file, "not json\n[1,2]\n{\"step\":3}\n{\"event\":\"eval\",\"step\":3,\"val_loss\":1}\n");
  MetricsFile metrics(file);
  EXPECT_EQ(metrics.refresh(), 1u);
  EXPECT_EQ(metrics.bad_lines(), 3u);
}

TEST(MetricsFile, ReadsAReplacedFileAgain) {
  const testing::TempDir dir;
  const auto file = dir / "metrics.jsonl";
  append(file, "{\"event\":\"train\",\"step\":1}\n{\"event\":\"train\",\"step\":2}\n");
  MetricsFile metrics(file);
  EXPECT_EQ(metrics.refresh(), 2u);
  std::filesystem::remove(file);
  append(file, "{\"event\":\"train\",\"step\":7}\n");
  EXPECT_EQ(metrics.refresh(), 1u);
  ASSERT_EQ(metrics.records().size(), 1u);
  EXPECT_EQ(metrics.records()[0]["step"], 7);
}

TEST(RunSeries, LaterLinesForAStepWinAndStepsAscend) {
  const std::vector<nlohmann::json> records = {
      {{"event", "start"}, {"step", 0}, {"steps", 30}},
      {{"event", "train"}, {"step", 10}, {"loss", 3.0}},
      {{"event", "train"}, {"step", 20}, {"loss", 2.0}},
      {{"event", "eval"}, {"step", 20}, {"val_loss", 2.2}},
      {{"event", "start"}, {"step", 10}, {"steps", 30}},  // resumed from step 10
      {{"event", "train"}, {"step", 20}, {"loss", 1.9}},
      {{"event", "future_event"}, {"step", 25}},
      {{"event", "train"}, {"step", 30}, {"loss", 1.8}},
  };
  const RunSeries series = series_of(records);
  EXPECT_EQ(series.start["step"], 10);
  ASSERT_EQ(series.train.size(), 3u);
  EXPECT_EQ(series.train[1]["loss"], 1.9);
  EXPECT_EQ(series.train[2]["step"], 30);
  ASSERT_EQ(series.eval.size(), 1u);
}

TEST(RunSeries, NumberOrTreatsNullAndStringsAsMissing) {
  const nlohmann::json record = {{"a", 1.5}, {"b", nullptr}, {"c", "x"}};
  EXPECT_EQ(number_or(record, "a", 0), 1.5);
  EXPECT_EQ(number_or(record, "b", -1), -1);
  EXPECT_EQ(number_or(record, "c", -1), -1);
  EXPECT_EQ(number_or(record, "d", -1), -1);
}

}  // namespace
}  // namespace sieve::dashboard
