#include <gtest/gtest.h>

#include <fstream>

#include "apps/dashboard/runs/result_tables.h"
#include "apps/dashboard/runs/run_catalog.h"
#include "apps/dashboard/runs/run_path.h"
#include "apps/dashboard/runs/run_views.h"
#include "temp_dir.h"

namespace sieve::dashboard {
namespace {

void write(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

// A run of `steps` steps logged every 10 steps, one second per 10 steps, up to `done`.
std::string run_lines(int steps, int done, double t0) {
  std::string text = "{\"event\":\"start\",\"step\":0,\"steps\":" + std::to_string(steps) + ",\"batch\":8}\n";
  for (int step = 10; step <= done; step += 10)
    text += "{\"event\":\"train\",\"step\":" + std::to_string(step) + ",\"loss\":" + std::to_string(5.0 - step / 100.0) +
            ",\"tokens_per_s\":1000,\"time_s\":" + std::to_string(step / 10) +
            ",\"unix_time\":" + std::to_string(t0 + step / 10.0) + "}\n";
  return text;
}

TEST(RunCatalog, FindsRunsAtDepthAndSkipsOthers) {
  const testing::TempDir root;
  write(root / "a" / "metrics.jsonl", run_lines(20, 20, 0));
  write(root / "search" / "trial-01" / "metrics.jsonl", run_lines(20, 10, 0));
  write(root / "a" / "nested" / "metrics.jsonl", "");  // inside a run: not searched
  write(root / ".hidden" / "metrics.jsonl", "");
  write(root / "model-only" / "config.json", "{}");
  write(root / "d1" / "d2" / "d3" / "d4" / "metrics.jsonl", "");  // too deep
  write(root / "launched" / "job.json", R"({"state":"queued"})");   // launched, no metrics yet
  RunCatalog catalog(root.path());
  EXPECT_EQ(catalog.names(), (std::vector<std::string>{"a", "launched", "search/trial-01"}));
  EXPECT_TRUE(catalog.snapshot("launched").records.empty());
  EXPECT_THROW(catalog.snapshot("model-only"), RunNotFound);
  EXPECT_EQ(catalog.snapshot("a").records.size(), 3u);
}

TEST(RunCatalog, SnapshotAfterAnIndexAndAfterAReplacement) {
  const testing::TempDir root;
  write(root / "a" / "metrics.jsonl", run_lines(40, 40, 0));
  RunCatalog catalog(root.path());
  bool reset = false;
  EXPECT_EQ(catalog.snapshot_after("a", 3, reset).records.size(), 2u);
  EXPECT_FALSE(reset);
  write(root / "a" / "metrics.jsonl", run_lines(40, 10, 0));  // replaced by a shorter file
  EXPECT_EQ(catalog.snapshot_after("a", 5, reset).records.size(), 2u);
  EXPECT_TRUE(reset);
}

TEST(RunViews, StatusFromTheFilesAndFromJobJson) {
  const testing::TempDir root;
  write(root / "done" / "metrics.jsonl", run_lines(30, 30, 0));
  write(root / "half" / "metrics.jsonl", run_lines(30, 10, 0));
  write(root / "empty" / "metrics.jsonl", "");
  RunCatalog catalog(root.path());
  const RunSnapshot half = catalog.snapshot("half");
  EXPECT_EQ(run_status(catalog.snapshot("done"), half.modified_unix_time), "finished");
  EXPECT_EQ(run_status(half, half.modified_unix_time + 1), "running");
  EXPECT_EQ(run_status(half, half.modified_unix_time + 3600), "stopped");
  EXPECT_EQ(run_status(catalog.snapshot("empty"), 0), "idle");
  write(root / "half" / "job.json", R"({"state":"queued"})");
  EXPECT_EQ(run_status(half, half.modified_unix_time + 1), "queued");
}

TEST(RunViews, ProgressHasTheEtaOfTheRecentPace) {
  const testing::TempDir root;
  write(root / "r" / "metrics.jsonl", run_lines(100, 50, 1000));  // 10 steps a second
  RunCatalog catalog(root.path());
  const RunSnapshot run = catalog.snapshot("r");
  const nlohmann::json progress = run_progress(run, run.modified_unix_time);
  EXPECT_EQ(progress["step"], 50);
  EXPECT_EQ(progress["steps"], 100);
  EXPECT_DOUBLE_EQ(progress["fraction"].get<double>(), 0.5);
  EXPECT_NEAR(progress["eta_s"].get<double>(), 5.0, 1e-9);
  EXPECT_TRUE(run_progress(run, run.modified_unix_time + 3600)["eta_s"].is_null());  // not running
}

TEST(RunViews, SummaryKeepsTheNewestValueOfEachMetric) {
  const testing::TempDir root;
  write(root / "r" / "metrics.jsonl", run_lines(30, 20, 0) + R"({"event":"eval","step":20,"val_loss":4.1,"val_ppl":60.3})"
                                                              "\n" R"({"event":"train","step":30,"loss":null})" "\n");
  RunCatalog catalog(root.path());
  const nlohmann::json summary = run_summary("r", catalog.snapshot("r"), 0);
  EXPECT_EQ(summary["name"], "r");
  EXPECT_NEAR(summary["latest"]["loss"].get<double>(), 4.8, 1e-9);  // the null does not replace it
  EXPECT_EQ(summary["latest"]["val_ppl"], 60.3);
}

TEST(RunViews, CompareListsFinalMetricsAndOnlyTheSettingsThatDiffer) {
  const testing::TempDir root;
  write(root / "a" / "metrics.jsonl", run_lines(20, 20, 0));
  write(root / "a" / "config.json", R"({"hidden_size":64,"num_hidden_layers":2})");
  write(root / "a" / "command.json", R"({"verb":"train","args":["--lr","0.001","--steps","20"]})");
  write(root / "b" / "metrics.jsonl", run_lines(20, 10, 0));
  write(root / "b" / "config.json", R"({"hidden_size":128,"num_hidden_layers":2})");
  write(root / "b" / "command.json", R"({"verb":"train","args":["--lr","0.002","--steps","20","--resume"]})");
  RunCatalog catalog(root.path());
  const nlohmann::json compared = compare_runs({"a", "b"}, {catalog.snapshot("a"), catalog.snapshot("b")});
  ASSERT_EQ(compared["final"].size(), 2u);
  EXPECT_EQ(compared["final"][0]["step"], 20);
  EXPECT_EQ(compared["final"][1]["step"], 10);
  std::map<std::string, nlohmann::json> differences;
  for (const nlohmann::json& row : compared["config_differences"]) differences[row["key"]] = row["values"];
  EXPECT_EQ(differences.size(), 3u);
  EXPECT_EQ(differences["config.hidden_size"], nlohmann::json({64, 128}));
  EXPECT_EQ(differences["flag.--lr"], nlohmann::json({"0.001", "0.002"}));
  EXPECT_EQ(differences["flag.--resume"], nlohmann::json({nullptr, true}));
}

TEST(ResultTables, GroupsRowsByBenchWithTheUnionOfColumns) {
  const testing::TempDir root;
  write(root / "results.jsonl", R"({"bench":"compression_table","model":"teacher","perplexity":22.0})"
                                "\nnot json\n"
                                R"({"bench":"compression_table","model":"student","perplexity":25.7,"bytes":9})"
                                "\n" R"({"bench":"decode","tokens_per_s":100})" "\n");
  const nlohmann::json tables = result_tables(root / "results.jsonl")["tables"];
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0]["columns"], nlohmann::json({"model", "perplexity", "bytes"}));
  EXPECT_EQ(tables[0]["rows"][0], nlohmann::json({"teacher", 22.0, nullptr}));
  EXPECT_EQ(tables[1]["bench"], "decode");
  EXPECT_TRUE(result_tables(root / "missing.jsonl")["tables"].empty());
}

}  // namespace
}  // namespace sieve::dashboard
