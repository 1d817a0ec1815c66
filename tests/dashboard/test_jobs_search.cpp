#include <gtest/gtest.h>

#include <filesystem>

#include "apps/dashboard/jobs/job_manager.h"
#include "apps/dashboard/jobs/search_manager.h"
#include "apps/dashboard/jobs/search_spec.h"
#include "apps/dashboard/runs/run_path.h"
#include "jobs_test_runs.h"
#include "sieve/core/error.h"

namespace sieve::dashboard {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::eventually;
using testing::JobsRunsRoot;
using testing::last_train_step;
using testing::read_json;

json tiny_base() {
  json base = JobsRunsRoot::tiny_form("unused", 10);
  base.erase("name");
  base.erase("steps");
  return base;
}

std::string refusal(const json& spec, const fs::path& root) {
  try {
    plan_search(spec, root, 2);
  } catch (const core::UserError& e) {
    return e.what();
  }
  return "";
}

TEST(SearchSpec, GridCoversEveryCombinationAndSetsTheRungs) {
  JobsRunsRoot runs;
  const json spec = {
      {"name", "grid"},
      {"base", tiny_base()},
      {"parameters", {{{"name", "lr"}, {"values", {0.01, 0.001}}}, {{"name", "batch"}, {"values", {2, 4, 8}}}}},
      {"rungs", {20, 60}},
      {"eta", 2}};
  const SearchPlan plan = plan_search(spec, fs::canonical(runs.root()), 2);
  ASSERT_EQ(plan.trials.size(), 6u);
  EXPECT_EQ(plan.trials[0].run, "grid/trial-01");
  EXPECT_EQ(plan.trials[5].run, "grid/trial-06");
  EXPECT_EQ(plan.trials[0].params, (json{{"lr", 0.01}, {"batch", 2}}));
  EXPECT_EQ(plan.trials[5].params, (json{{"lr", 0.001}, {"batch", 8}}));
  EXPECT_EQ(plan.trials[3].form["steps"], 60);
  EXPECT_EQ(plan.trials[3].form["eval_interval"], 20);
  EXPECT_EQ(plan.trials[3].command.verb, "train");
  EXPECT_EQ(plan.eta, 2);
  EXPECT_EQ(plan.parallel, 2);
  EXPECT_FALSE(fs::exists(runs.root() / "grid"));  // nothing created by planning
}

TEST(SearchSpec, RandomDrawsAreSeededAndInRange) {
  JobsRunsRoot runs;
  json spec = {{"name", "rand"},
               {"base", tiny_base()},
               {"mode", "random"},
               {"trials", 8},
               {"seed", 5},
               {"parameters",
                {{{"name", "lr"}, {"min", 1e-4}, {"max", 1e-2}, {"log", true}},
                 {{"name", "batch"}, {"min", 2}, {"max", 6}},
                 {{"name", "precision"}, {"values", {"fp32", "bf16"}}}}},
               {"rungs", {30}}};
  const fs::path root = fs::canonical(runs.root());
  const SearchPlan first = plan_search(spec, root, 2);
  const SearchPlan again = plan_search(spec, root, 2);
  ASSERT_EQ(first.trials.size(), 8u);
  bool varied = false;
  for (std::size_t t = 0; t < 8; ++t) {
    const json& params = first.trials[t].params;
    EXPECT_EQ(params, again.trials[t].params);
    EXPECT_GE(params["lr"].get<double>(), 1e-4);
    EXPECT_LE(params["lr"].get<double>(), 1e-2);
    EXPECT_TRUE(params["batch"].is_number_integer());
    EXPECT_GE(params["batch"].get<int>(), 2);
    EXPECT_LE(params["batch"].get<int>(), 6);
    varied = varied || params["lr"] != first.trials[0].params["lr"];
  }
  EXPECT_TRUE(varied);
  spec["seed"] = 6;
  EXPECT_NE(plan_search(spec, root, 2).trials[0].params, first.trials[0].params);
}

TEST(SearchSpec, RefusesBadSpecs) {
  JobsRunsRoot runs;
  const fs::path root = fs::canonical(runs.root());
  const json good = {{"name", "s"},
                     {"base", tiny_base()},
                     {"parameters", {{{"name", "lr"}, {"values", {0.01}}}}},
                     {"rungs", {10, 20}}};
  ASSERT_EQ(refusal(good, root), "");
  const auto with = [&](const char* field, const json& value) {
    json spec = good;
    spec[field] = value;
    return refusal(spec, root);
  };
  EXPECT_NE(with("name", "../up").find("'name'"), std::string::npos);
  EXPECT_NE(with("name", "corpus.txt").find("already exists"), std::string::npos);
  EXPECT_NE(with("mode", "bayes").find("'mode'"), std::string::npos);
  EXPECT_NE(with("mode", json::array()).find("'mode'"), std::string::npos);  // a wrong type, not a crash
  EXPECT_NE(with("rungs", {20, 10}).find("ascending"), std::string::npos);
  EXPECT_NE(with("rungs", {0}).find("'rungs'"), std::string::npos);
  EXPECT_NE(with("eta", 1).find("'eta'"), std::string::npos);
  EXPECT_NE(with("parallel", 3).find("'parallel' must be between 1 and 2"), std::string::npos);
  EXPECT_NE(with("trials", 4).find("random"), std::string::npos);
  EXPECT_NE(with("colour", 1).find("unknown search field"), std::string::npos);
  EXPECT_NE(with("parameters", json::array()).find("'parameters'"), std::string::npos);
  EXPECT_NE(with("parameters", {{{"name", "lr"}, {"min", 0.1}, {"max", 0.2}}}).find("needs a 'values' list"),
            std::string::npos);
  EXPECT_NE(with("parameters", {{{"name", "steps"}, {"values", {5}}}}).find("cannot be searched"), std::string::npos);
  EXPECT_NE(with("parameters", {{{"name", "lr"}, {"values", {5}}}}).find("'lr'"), std::string::npos);  // > 1
  EXPECT_NE(with("parameters", {{{"name", "dataset"}, {"values", {"../../etc/passwd"}}}}).find("'..'"),
            std::string::npos);
  EXPECT_NE(with("parameters", {{{"name", "batch"}, {"values", {1, 2, 3, 4, 5, 6, 7, 8}}},
                                {{"name", "lr"}, {"values", {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}}}})
                .find("more than 64"),
            std::string::npos);
  json named_base = good;
  named_base["base"]["name"] = "x";
  EXPECT_NE(refusal(named_base, root).find("'base' must not have a 'name'"), std::string::npos);
  json no_steps = good;
  no_steps.erase("rungs");
  EXPECT_NE(refusal(no_steps, root).find("'steps' in 'base'"), std::string::npos);
  json random = good;
  random["mode"] = "random";
  EXPECT_NE(refusal(random, root).find("needs 'trials'"), std::string::npos);
  random["trials"] = 2;
  random["parameters"] = {{{"name", "lr"}, {"min", 0.001}, {"max", 0.01}, {"log", "yes"}}};
  EXPECT_NE(refusal(random, root).find("'log' must be true or false"), std::string::npos);
}

// Three learning rates, two rungs, eta 3: after the first rung only the best goes on, resumed from
// the checkpoint its stop wrote.
TEST(SearchManagerTest, SuccessiveHalvingPrunesTheWorseTrialsAndRanksThem) {
  JobsRunsRoot runs;
  const fs::path root = fs::canonical(runs.root());
  JobManager jobs(root, SIEVE_BINARY, 2, testing::kTestThreads);
  SearchManager searches(jobs);
  // Batches of 8 slow the steps enough that the stop at the first rung lands well before the end.
  constexpr int kFinal = 600;
  json base = tiny_base();
  base["batch"] = 8;
  const json spec = {{"name", "halving"},
                     {"base", base},
                     {"parameters", {{{"name", "lr"}, {"values", {1e-5, 1e-2, 1e-6}}}}},
                     {"rungs", {50, kFinal}},
                     {"eta", 3}};
  const std::string id = searches.start_search(spec);
  EXPECT_EQ(id, "halving");
  EXPECT_THROW(searches.start_search(spec), core::UserError);  // the name is taken
  EXPECT_THROW(searches.search("nothing"), RunNotFound);
  json search;
  ASSERT_TRUE(eventually([&] { return (search = searches.search(id))["state"] != "running"; }, 120s)) << search.dump(2);
  EXPECT_EQ(search["state"], "done") << search.dump(2);
  const json& trials = search["trials"];
  ASSERT_EQ(trials.size(), 3u);
  // Ranked: the survivor (it reached the last rung) first, with the 1e-2 learning rate.
  EXPECT_EQ(trials[0]["params"]["lr"], 1e-2) << search.dump(2);
  EXPECT_EQ(trials[0]["state"], "finished");
  EXPECT_EQ(trials[0]["rung"], 1);
  EXPECT_EQ(trials[0]["step"], kFinal);
  EXPECT_EQ(last_train_step(root / trials[0]["run"].get<std::string>()), kFinal);
  for (int t = 1; t < 3; ++t) {
    EXPECT_EQ(trials[t]["state"], "pruned") << search.dump(2);
    EXPECT_EQ(trials[t]["rung"], 0);
    EXPECT_GT(trials[t]["val_loss"].get<double>(), trials[0]["val_loss"].get<double>());
    EXPECT_GT(trials[t]["val_loss"].get<double>(), trials[1]["val_loss"].get<double>() - 1e-9);
  }
  // The survivor was stopped at its first rung and resumed (unless it outran the stop).
  const std::string log = testing::read_text(root / trials[0]["run"].get<std::string>() / "train.log");
  EXPECT_NE(log.find("stopping at step"), std::string::npos) << log;
  EXPECT_NE(log.find("resumed from"), std::string::npos) << log;
  EXPECT_LT(last_train_step(root / trials[1]["run"].get<std::string>()), kFinal);
  EXPECT_EQ(read_json(root / "halving" / "search.json")["state"], "done");
  EXPECT_EQ(searches.searches()["searches"].size(), 1u);
  EXPECT_THROW(searches.stop_search(id), JobConflict);
}

TEST(SearchManagerTest, StopSearchStopsItsTrialsAndARestartListsIt) {
  JobsRunsRoot runs;
  const fs::path root = fs::canonical(runs.root());
  {
    JobManager jobs(root, SIEVE_BINARY, 2, testing::kTestThreads);
    SearchManager searches(jobs);
    const json spec = {{"name", "halted"},
                       {"base", tiny_base()},
                       {"parameters", {{{"name", "lr"}, {"values", {1e-3, 2e-3, 3e-3}}}}},
                       {"rungs", {20000}},
                       {"parallel", 1}};
    const std::string id = searches.start_search(spec);
    ASSERT_TRUE(eventually([&] { return last_train_step(root / "halted" / "trial-01") >= 5; }, 60s));
    searches.stop_search(id);
    const json search = searches.search(id);
    EXPECT_EQ(search["state"], "stopped");
    for (const json& trial : search["trials"]) EXPECT_EQ(trial["state"], "stopped") << search.dump(2);
    ASSERT_TRUE(jobs.wait_until_ended("halted/trial-01", 60s));
    EXPECT_EQ(jobs.status("halted/trial-01")->state, "stopped");
    EXPECT_FALSE(jobs.status("halted/trial-02").has_value());  // never started
  }
  JobManager jobs(root, SIEVE_BINARY, 2, testing::kTestThreads);
  SearchManager searches(jobs);
  const json listed = searches.searches()["searches"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], "halted");
  EXPECT_EQ(listed[0]["state"], "stopped");
  EXPECT_EQ(searches.search("halted")["trials"].size(), 3u);
  EXPECT_THROW(searches.stop_search("halted"), JobConflict);
}

}  // namespace
}  // namespace sieve::dashboard
