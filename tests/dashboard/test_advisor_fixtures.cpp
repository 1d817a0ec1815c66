// The advisor on the fixture runs: each pattern fires its rule and only that rule, with the
// run's numbers as evidence and a concrete flag change, on a slow AVX2 machine and on a fast
// AVX-512 one alike; the healthy run gets no suggestion on either, nor on this machine.
#include <gtest/gtest.h>

#include <cstdlib>

#include "advisor_test_util.h"

namespace sieve::dashboard {
namespace {

using namespace testing;

Suggestion only_suggestion(const std::vector<Suggestion>& suggestions) {
  EXPECT_EQ(suggestions.size(), 1u);
  return suggestions.empty() ? Suggestion{} : suggestions.front();
}

std::vector<Suggestion> advise_fixture(const std::string& name, const MachineProfile& machine) {
  const RunInputs run = load_fixture(name);
  return advise(run.series, run.config, run.command, machine);
}

TEST(AdvisorFixtures, EachPatternFiresItsRuleAndOnlyThatRule) {
  const std::pair<const char*, std::set<std::string>> expected[] = {
      {"healthy", {}},
      {"diverging", {"divergence"}},
      {"fp16-overflows", {"fp16-overflows"}},
      {"plateau", {"plateau"}},
      {"overfitting", {"overfitting"}},
      {"low-coverage", {"low-coverage"}},
      {"slow", {"throughput"}},
  };
  for (const MachineProfile& machine : {slow_avx2_machine(), fast_avx512_machine()})
    for (const auto& [name, rules] : expected)
      EXPECT_EQ(rules_of(advise_fixture(name, machine)), rules) << name << " on " << machine.isa;
}

TEST(AdvisorFixtures, DivergenceNamesTheSpikeAndHalvesTheLearningRate) {
  const Suggestion s = only_suggestion(advise_fixture("diverging", slow_avx2_machine()));
  EXPECT_EQ(s.severity, "warning");
  EXPECT_EQ(s.measure, "val_loss");
  EXPECT_NE(s.evidence.find("loss 9.6 at step 210"), std::string::npos) << s.evidence;
  EXPECT_NE(s.evidence.find("gradient norm 41 at step 210"), std::string::npos) << s.evidence;
  // The command had --lr 0.004 --warmup 10.
  EXPECT_EQ(s.change, (std::map<std::string, std::string>{{"--lr", "0.002"}, {"--warmup", "20"}}));
}

TEST(AdvisorFixtures, Fp16OverflowsSuggestBf16OnlyWhereTheCpuHasIt) {
  const Suggestion fast = only_suggestion(advise_fixture("fp16-overflows", fast_avx512_machine()));
  EXPECT_EQ(fast.change, (std::map<std::string, std::string>{{"--precision", "bf16"}}));
  EXPECT_EQ(fast.measure, "skipped_total");
  EXPECT_NE(fast.evidence.find("60 of 400 steps skipped"), std::string::npos) << fast.evidence;
  const Suggestion slow = only_suggestion(advise_fixture("fp16-overflows", slow_avx2_machine()));
  EXPECT_EQ(slow.change, (std::map<std::string, std::string>{{"--precision", "fp32"}}));
}

TEST(AdvisorFixtures, ASlowRunGetsALargerBatchAndBf16WhereItIsFaster) {
  const Suggestion fast = only_suggestion(advise_fixture("slow", fast_avx512_machine()));
  EXPECT_EQ(fast.measure, "tokens_per_s");
  // 2 x 64 rows: enough rows for a 1024-row GEMM is 16 sequences of 64.
  EXPECT_EQ(fast.change, (std::map<std::string, std::string>{{"--batch", "16"}, {"--precision", "bf16"}}));
  EXPECT_NE(fast.evidence.find("5 tokens/s"), std::string::npos) << fast.evidence;
  const Suggestion slow = only_suggestion(advise_fixture("slow", slow_avx2_machine()));
  EXPECT_EQ(slow.change, (std::map<std::string, std::string>{{"--batch", "16"}})) << "no bf16 GEMM on AVX2";
}

TEST(AdvisorFixtures, OverfittingLiftsTheDataLimitAndNamesTheBestStep) {
  const Suggestion s = only_suggestion(advise_fixture("overfitting", slow_avx2_machine()));
  EXPECT_EQ(s.change, (std::map<std::string, std::string>{{"--max-bytes", "800000"}}));
  EXPECT_NE(s.evidence.find("at step 200"), std::string::npos) << s.evidence;
  EXPECT_NE(s.expected_effect.find("step 200"), std::string::npos) << s.expected_effect;
}

TEST(AdvisorFixtures, PlateauDoublesTheLearningRate) {
  const Suggestion s = only_suggestion(advise_fixture("plateau", slow_avx2_machine()));
  EXPECT_EQ(s.change, (std::map<std::string, std::string>{{"--lr", "0.002"}}));
  EXPECT_EQ(s.severity, "info");
}

TEST(AdvisorFixtures, LowCoverageLowersTau) {
  const Suggestion s = only_suggestion(advise_fixture("low-coverage", slow_avx2_machine()));
  EXPECT_EQ(s.change, (std::map<std::string, std::string>{{"--dynamic-sparse-threshold", "0.25"}}));
  EXPECT_NE(s.evidence.find("55%"), std::string::npos) << s.evidence;
}

TEST(AdvisorFixtures, SuggestionJsonHasTheDocumentedFields) {
  const nlohmann::json json = to_json(only_suggestion(advise_fixture("slow", slow_avx2_machine())));
  for (const char* key : {"rule", "title", "evidence", "expected_effect", "severity", "measure"})
    EXPECT_TRUE(json.at(key).is_string()) << key;
  EXPECT_EQ(json.size(), 7u) << json.dump();
  EXPECT_EQ(json["change"], (nlohmann::json{{"--batch", "16"}}));
  EXPECT_EQ(to_json(Suggestion{.rule = "memory",
                               .title = "t",
                               .evidence = "e",
                               .expected_effect = "x",
                               .severity = "warning",
                               .change = {{"--activation-checkpointing", ""}},
                               .measure = "peak_rss_mb"})["change"],
            (nlohmann::json{{"--activation-checkpointing", ""}}));
}

TEST(AdvisorFixtures, HealthyRunIsQuietOnThisMachine) {
  ::setenv("SIEVE_CACHE_DIR", SIEVE_TEST_CACHE_DIR, 0);  // the GEMM measurement's cache
  const RunInputs run = load_fixture("healthy");
  const MachineProfile machine = measure_machine_for_run(run.config, run.series.start);
  EXPECT_GT(machine.gemm_gflops_fp32, 0.0);
  EXPECT_GT(machine.cores, 0);
  EXPECT_GT(machine.memory_mb, 0.0);
  EXPECT_EQ(machine.bf16_native, machine.gemm_gflops_bf16 > 0.0);
  EXPECT_TRUE(advise(run.series, run.config, run.command, machine).empty());
  // And the slow run is slow here too.
  const RunInputs slow = load_fixture("slow");
  EXPECT_EQ(rules_of(advise(slow.series, slow.config, slow.command, machine)), std::set<std::string>{"throughput"});
}

}  // namespace
}  // namespace sieve::dashboard
