// The advisor's rules on made-up series: empty and one-record runs, nulls where numbers belong,
// odd config and command files, and the branches the fixture runs do not reach (memory, a
// collapsed loss scale, keep-ratio mode, a model directory's attention, finetune defaults).
#include <gtest/gtest.h>

#include "advisor_test_util.h"
#include "apps/dashboard/advisor/rules.h"
#include "sieve/core/error.h"

namespace sieve::dashboard {
namespace {

using namespace testing;
using json = nlohmann::json;

json start(json extra = json::object()) {
  json record{{"event", "start"}, {"step", 0},       {"steps", 100},        {"batch", 8},
              {"context", 256},   {"grad_accum", 1}, {"precision", "fp32"}, {"loss_scaling", false}};
  record.update(extra);
  return record;
}

json train(int step, json loss, json extra = json::object()) {
  json record{{"event", "train"}, {"step", step},        {"loss", std::move(loss)}, {"lr", 1e-3},
              {"grad_norm", 1.0}, {"tokens_per_s", 1e9}, {"peak_rss_mb", 100.0},    {"skipped_total", 0},
              {"loss_scale", 1.0}};
  record.update(extra);
  return record;
}

// `count` train records every 10 steps with a loss falling 5% a record.
std::vector<json> falling(int count, json extra = json::object()) {
  std::vector<json> records{start()};
  for (int i = 1; i <= count; ++i) records.push_back(train(10 * i, 8.0 * std::pow(0.95, i), extra));
  return records;
}

std::vector<Suggestion> advise_records(const std::vector<json>& records, const json& config = nullptr,
                                       const json& command = nullptr,
                                       const MachineProfile& machine = slow_avx2_machine()) {
  return advise(series_of(records), config, command, machine);
}

json command_of(const std::string& verb, std::vector<std::string> args) {
  return {{"verb", verb}, {"args", args}, {"cwd", "/tmp"}, {"unix_time", 1.0}};
}

TEST(AdvisorRules, EmptyAndOneRecordRunsGetNothing) {
  EXPECT_TRUE(advise_records({}).empty());
  EXPECT_TRUE(advise_records({start()}).empty());
  EXPECT_TRUE(advise_records({train(10, 5.0)}).empty()) << "no start record";
  EXPECT_TRUE(advise_records({start(), train(10, 5.0)}).empty());
  EXPECT_TRUE(advise_records({start(), json{{"event", "eval"}, {"step", 0}, {"val_loss", 8.0}}}).empty());
  EXPECT_TRUE(advise_records(falling(20)).empty()) << "a steadily falling loss is healthy";
}

TEST(AdvisorRules, NullsAndOddFilesDoNotConfuseTheRules) {
  // null numbers (JSON's non-finite), strings where numbers belong, a config that is no model's,
  // and a command whose args are not strings.
  std::vector<json> records = falling(20, {{"grad_norm", nullptr}, {"tokens_per_s", nullptr}});
  records.front()["batch"] = "eight";
  records.push_back({{"event", "eval"}, {"step", 200}, {"val_loss", nullptr}, {"dense_mass_coverage", nullptr}});
  const json config{{"model_type", "trimodal"}};
  const json command{{"verb", 3}, {"args", {1, nullptr, json::object()}}};
  EXPECT_TRUE(advise_records(records, config, command).empty());
  EXPECT_TRUE(advise_records(records, json::array(), json("text")).empty());
}

TEST(AdvisorRules, NonFiniteLossesAreDivergence) {
  std::vector<json> records = falling(10);
  records.push_back(train(110, nullptr));
  records.push_back(train(120, nullptr));
  const auto suggestions = advise_records(records);
  ASSERT_EQ(rules_of(suggestions), std::set<std::string>{"divergence"});
  EXPECT_NE(suggestions[0].evidence.find("2 logged losses were not finite (first at step 110)"), std::string::npos)
      << suggestions[0].evidence;
  // Without a command, the peak learning rate comes from the logged lr; warm-up from where it peaked.
  EXPECT_EQ(suggestions[0].change.at("--lr"), "0.0005");
  EXPECT_EQ(suggestions[0].change.at("--warmup"), "20");
}

TEST(AdvisorRules, AGradientNormSpikeAloneIsDivergence) {
  std::vector<json> records = falling(10);
  records[8]["grad_norm"] = 30.0;
  EXPECT_EQ(rules_of(advise_records(records)), std::set<std::string>{"divergence"});
  records[8]["grad_norm"] = 5.0;  // 5x: within what clipping is for
  EXPECT_TRUE(advise_records(records).empty());
}

TEST(AdvisorRules, ACollapsedLossScaleIsReportedEvenWithFewSkippedSteps) {
  std::vector<json> records = falling(10, {{"precision", "fp16"}});
  records.front()["precision"] = "fp16";
  records.front()["loss_scaling"] = true;
  records.back()["loss_scale"] = 4.0;
  records.back()["skipped_total"] = 2;
  const auto suggestions = advise_records(records, nullptr, nullptr, fast_avx512_machine());
  ASSERT_EQ(rules_of(suggestions), std::set<std::string>{"fp16-overflows"});
  EXPECT_EQ(suggestions[0].change.at("--precision"), "bf16");
  records.back()["loss_scale"] = 1024.0;  // a healthy scale and 2 of 100 steps skipped
  EXPECT_TRUE(advise_records(records).empty());
}

TEST(AdvisorRules, MemoryNearTheLimitSuggestsCheckpointingThenLoraThenSmallerBatches) {
  std::vector<json> records = falling(20, {{"peak_rss_mb", 7500.0}});  // of 8192 MiB
  auto suggestions = advise_records(records, nullptr, command_of("train", {"--batch", "8"}));
  ASSERT_EQ(rules_of(suggestions), std::set<std::string>{"memory"});
  EXPECT_EQ(suggestions[0].change, (std::map<std::string, std::string>{{"--activation-checkpointing", ""}}));
  EXPECT_EQ(suggestions[0].measure, "peak_rss_mb");

  suggestions = advise_records(records, nullptr, command_of("finetune", {"--activation-checkpointing"}));
  EXPECT_EQ(suggestions.at(0).change, (std::map<std::string, std::string>{{"--lora", ""}}));

  suggestions = advise_records(records, nullptr, command_of("train", {"--activation-checkpointing"}));
  EXPECT_EQ(suggestions.at(0).change, (std::map<std::string, std::string>{{"--batch", "4"}, {"--grad-accum", "2"}}));

  records = falling(20, {{"peak_rss_mb", 4000.0}});  // 49%: not near
  EXPECT_TRUE(advise_records(records).empty());
}

TEST(AdvisorRules, ASlowRunShortOfMemoryAlsoGetsCheckpointing) {
  std::vector<json> records = falling(20, {{"tokens_per_s", 5.0}, {"peak_rss_mb", 5500.0}});  // 67% of 8192
  records.front()["batch"] = 2;
  records.front()["parameters"] = 5e6;
  const auto suggestions = advise_records(records);
  ASSERT_EQ(rules_of(suggestions), std::set<std::string>{"throughput"});
  EXPECT_EQ(suggestions[0].change,
            (std::map<std::string, std::string>{{"--batch", "4"}, {"--activation-checkpointing", ""}}));
  // Without a parameter count (no start field, no config) the rule cannot judge.
  records.front().erase("parameters");
  EXPECT_TRUE(advise_records(records).empty());
}

TEST(AdvisorRules, OverfittingWithoutADataLimitRaisesWeightDecayFromTheVerbsDefault) {
  std::vector<json> records = falling(20);
  const double val[] = {6.0, 5.0, 4.5, 4.6, 4.8, 5.0};
  for (int i = 0; i < 6; ++i) records.push_back({{"event", "eval"}, {"step", 40 * i}, {"val_loss", val[i]}});
  auto suggestions = advise_records(records, nullptr, command_of("train", {}));
  ASSERT_EQ(rules_of(suggestions), std::set<std::string>{"overfitting"});
  EXPECT_EQ(suggestions[0].change, (std::map<std::string, std::string>{{"--weight-decay", "0.2"}}));
  suggestions = advise_records(records, nullptr, command_of("finetune", {}));
  EXPECT_EQ(suggestions.at(0).change, (std::map<std::string, std::string>{{"--weight-decay", "0.1"}}));
  suggestions = advise_records(records, nullptr, command_of("train", {"--max-documents", "100"}));
  EXPECT_EQ(suggestions.at(0).change, (std::map<std::string, std::string>{{"--max-documents", "400"}}));
  // One validation after the best is not a trend.
  records.pop_back();
  records.pop_back();
  EXPECT_TRUE(advise_records(records).empty());
}

TEST(AdvisorRules, AFlatLossAtTheEndOfTheScheduleIsNoPlateau) {
  std::vector<json> records{start()};
  for (int i = 1; i <= 20; ++i)
    records.push_back(train(10 * i, i <= 10 ? 8.0 - 0.3 * i : 5.0, {{"lr", i <= 10 ? 1e-3 : 1e-4}}));
  EXPECT_TRUE(advise_records(records).empty()) << "lr annealed to 10% of its peak";
  for (auto& record : records) record["lr"] = 1e-3;
  EXPECT_EQ(rules_of(advise_records(records)), std::set<std::string>{"plateau"});
}

TEST(AdvisorRules, LowCoverageAdviceFollowsTheSparseMode) {
  std::vector<json> records = falling(10);
  records.push_back({{"event", "eval"}, {"step", 100}, {"val_loss", 4.0}, {"dense_mass_coverage", 0.4}});
  const auto change_for = [&](json start_fields, const json& command) {
    std::vector<json> run = records;
    run.front().update(start_fields);
    const auto suggestions = advise_records(run, nullptr, command);
    EXPECT_EQ(rules_of(suggestions), std::set<std::string>{"low-coverage"});
    return suggestions.empty() ? std::map<std::string, std::string>{} : suggestions[0].change;
  };
  EXPECT_EQ(change_for({{"sparse_threshold", nullptr}, {"sparse_keep_ratio", 0.1}, {"sparse_global_cap", 64}}, nullptr),
            (std::map<std::string, std::string>{{"--sparse-keep-ratio", "0.2"}}));
  EXPECT_EQ(change_for({{"sparse_threshold", 0.02}, {"sparse_global_cap", 64}}, nullptr),
            (std::map<std::string, std::string>{{"--sparse-global-cap", "128"}}));
  // A model directory keeps its config.json's attention: no flag to give.
  EXPECT_TRUE(change_for({{"sparse_threshold", 0.3}, {"sparse_global_cap", 64}},
                         command_of("train", {"--model-path", "m"}))
                  .empty());
  records.back()["dense_mass_coverage"] = 0.8;
  EXPECT_TRUE(advise_records(records).empty());
}

TEST(AdvisorRules, CommandFlagsReadBothSpellings) {
  const json command = command_of("train", {"--lr=0.01", "--batch", "4", "--lr", "0.02", "--resume", "--warmup"});
  EXPECT_EQ(command_flag(command, "--lr"), "0.02") << "the last one wins";
  EXPECT_EQ(command_number(command, "--batch"), 4.0);
  EXPECT_FALSE(command_flag(command, "--warmup")) << "no value after it";
  EXPECT_FALSE(command_number(command_of("train", {"--lr", "fast"}), "--lr"));
  EXPECT_TRUE(command_switch(command, "--resume"));
  EXPECT_FALSE(command_switch(nullptr, "--resume"));
  EXPECT_EQ(command_verb(command), "train");
}

TEST(AdvisorRules, MachineProfileJsonRoundTripsAndRejectsMissingFields) {
  const MachineProfile machine = fast_avx512_machine();
  const json text = to_json(machine);
  EXPECT_EQ(text["gemm_gflops"]["bf16"], 6000.0);
  const MachineProfile back = machine_profile_from_json(text, "m.json");
  EXPECT_EQ(back.cores, 16);
  EXPECT_EQ(back.isa, "avx512");
  EXPECT_EQ(back.gemm_gflops_fp32, 2000.0);
  EXPECT_TRUE(back.bf16_native);
  json broken = text;
  broken["gemm_gflops"].erase("fp32");
  try {
    machine_profile_from_json(broken, "m.json");
    FAIL() << "accepted a profile without gemm_gflops.fp32";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("m.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("\"fp32\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(machine_profile_from_json(json::array(), "m.json"), core::UserError);
}

}  // namespace
}  // namespace sieve::dashboard
