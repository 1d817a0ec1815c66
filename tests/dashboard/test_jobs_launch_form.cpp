#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "apps/dashboard/jobs/launch_form.h"
#include "jobs_test_runs.h"
#include "sieve/core/error.h"

namespace sieve::dashboard {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::JobsRunsRoot;

bool contains_pair(const std::vector<std::string>& args, const std::string& flag, const std::string& value) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == flag && args[i + 1] == value) return true;
  return false;
}

class LaunchForm : public ::testing::Test {
 protected:
  LaunchForm() {
    // A run holding a model, and one holding only an adapter.
    fs::create_directories(root() / "base");
    std::ofstream(root() / "base" / "config.json") << "{}";
    std::ofstream(root() / "base" / "model.safetensors") << "x";
    fs::create_directories(root() / "adapter-only");
    std::ofstream(root() / "adapter-only" / "config.json") << "{}";
  }
  fs::path root() const { return fs::canonical(runs_.root()); }

  // The error message plan_launch gives for `form`, or "" when it accepts it.
  std::string refusal(const json& form) const {
    try {
      plan_launch(form, root());
    } catch (const core::UserError& e) {
      return e.what();
    }
    return "";
  }
  std::string refusal_with(const char* field, const json& value) const {
    json form = JobsRunsRoot::tiny_form("run", 10);
    form[field] = value;
    return refusal(form);
  }

  JobsRunsRoot runs_;
};

TEST_F(LaunchForm, PresetRunBecomesSieveTrain) {
  json form = JobsRunsRoot::tiny_form("run-1", 40);
  form.update({{"precision", "bf16"},
               {"lr", 0.003},
               {"grad_accum", 2},
               {"attention", "sparse"},
               {"tau", 0.4},
               {"max_bytes", 5000},
               {"eval_interval", 10}});
  const LaunchPlan plan = plan_launch(form, root());
  EXPECT_EQ(plan.run, "run-1");
  EXPECT_EQ(plan.dir, root() / "run-1");
  EXPECT_FALSE(fs::exists(plan.dir));
  EXPECT_EQ(plan.command.verb, "train");
  EXPECT_EQ(plan.command.cwd, root());
  const auto& args = plan.command.args;
  EXPECT_TRUE(contains_pair(args, "--out", (root() / "run-1").string()));
  EXPECT_TRUE(contains_pair(args, "--preset", "tiny"));
  EXPECT_TRUE(contains_pair(args, "--data", (root() / "corpus.txt").string()));
  EXPECT_TRUE(contains_pair(args, "--precision", "bf16"));
  EXPECT_TRUE(contains_pair(args, "--lr", "0.003"));
  EXPECT_TRUE(contains_pair(args, "--batch", "2"));
  EXPECT_TRUE(contains_pair(args, "--grad-accum", "2"));
  EXPECT_TRUE(contains_pair(args, "--context", "32"));
  EXPECT_TRUE(contains_pair(args, "--attention", "sparse"));
  EXPECT_TRUE(contains_pair(args, "--dynamic-sparse-threshold", "0.4"));
  EXPECT_TRUE(contains_pair(args, "--steps", "40"));
  EXPECT_TRUE(contains_pair(args, "--max-bytes", "5000"));
  EXPECT_TRUE(contains_pair(args, "--eval-interval", "10"));
  EXPECT_TRUE(contains_pair(args, "--log-interval", "5"));
  EXPECT_TRUE(contains_pair(args, "--eval-windows", "2"));
  EXPECT_TRUE(contains_pair(args, "--val-fraction", "0.05"));
}

TEST_F(LaunchForm, BuiltinDatasetsPassByName) {
  json form = JobsRunsRoot::tiny_form("run", 10);
  form["dataset"] = "wikitext-2";
  EXPECT_TRUE(contains_pair(plan_launch(form, root()).command.args, "--data", "wikitext-2"));
}

TEST_F(LaunchForm, ModelRunTrainsTheModelOrFineTunesWithLora) {
  json form = {{"name", "more"}, {"model", "base"}, {"dataset", "gcide"}, {"steps", 5}};
  LaunchPlan plan = plan_launch(form, root());
  EXPECT_EQ(plan.command.verb, "train");
  EXPECT_TRUE(contains_pair(plan.command.args, "--model-path", (root() / "base").string()));
  EXPECT_TRUE(contains_pair(plan.command.args, "--out", (root() / "more").string()));

  form["lora_rank"] = 4;
  plan = plan_launch(form, root());
  EXPECT_EQ(plan.command.verb, "finetune");
  EXPECT_TRUE(contains_pair(plan.command.args, "--model", (root() / "base").string()));
  EXPECT_TRUE(contains_pair(plan.command.args, "--lora-rank", "4"));
  EXPECT_NE(std::find(plan.command.args.begin(), plan.command.args.end(), "--lora"), plan.command.args.end());
}

TEST_F(LaunchForm, RefusesEachBadField) {
  EXPECT_NE(refusal(json::array()), "");
  EXPECT_NE(refusal_with("colour", "red").find("unknown launch form field 'colour'"), std::string::npos);
  EXPECT_NE(refusal_with("lr", 0).find("'lr'"), std::string::npos);
  EXPECT_NE(refusal_with("lr", 1.5).find("'lr'"), std::string::npos);
  EXPECT_NE(refusal_with("lr", "0.1").find("'lr' must be a number"), std::string::npos);
  EXPECT_EQ(refusal_with("lr", 1.0), "");
  EXPECT_NE(refusal_with("batch", 0).find("'batch' must be between 1 and 1024"), std::string::npos);
  EXPECT_NE(refusal_with("batch", 1025).find("'batch'"), std::string::npos);
  EXPECT_NE(refusal_with("batch", 2.5).find("'batch' must be a whole number"), std::string::npos);
  EXPECT_EQ(refusal_with("batch", 4.0), "");
  EXPECT_NE(refusal_with("steps", 0).find("'steps'"), std::string::npos);
  EXPECT_NE(refusal_with("steps", 20'000'000).find("'steps'"), std::string::npos);
  EXPECT_NE(refusal_with("grad_accum", 0).find("'grad_accum'"), std::string::npos);
  EXPECT_NE(refusal_with("context", 4).find("'context'"), std::string::npos);
  EXPECT_NE(refusal_with("precision", "fp8").find("'precision' must be one of"), std::string::npos);
  EXPECT_NE(refusal_with("preset", "huge").find("'preset'"), std::string::npos);
  EXPECT_NE(refusal_with("attention", "full").find("'attention'"), std::string::npos);
  EXPECT_NE(refusal_with("tau", 0.5).find("'tau' needs 'attention'"), std::string::npos);
  EXPECT_NE(refusal_with("lora_rank", 4).find("'lora_rank' needs 'model'"), std::string::npos);
  EXPECT_NE(refusal_with("lora_rank", -1).find("'lora_rank'"), std::string::npos);
  EXPECT_NE(refusal_with("max_bytes", -5).find("'max_bytes'"), std::string::npos);
  EXPECT_NE(refusal_with("eval_interval", -1).find("'eval_interval'"), std::string::npos);
  EXPECT_NE(refusal_with("log_interval", 0).find("'log_interval'"), std::string::npos);
  EXPECT_NE(refusal_with("val_fraction", 0.9).find("'val_fraction'"), std::string::npos);
  EXPECT_NE(refusal_with("model", "base").find("exactly one of 'preset'"), std::string::npos);
  json neither = JobsRunsRoot::tiny_form("run", 10);
  neither.erase("preset");
  EXPECT_NE(refusal(neither).find("exactly one of 'preset'"), std::string::npos);
  json nameless = JobsRunsRoot::tiny_form("run", 10);
  nameless.erase("name");
  EXPECT_NE(refusal(nameless).find("'name' is required"), std::string::npos);
  json no_data = JobsRunsRoot::tiny_form("run", 10);
  no_data.erase("dataset");
  EXPECT_NE(refusal(no_data).find("'dataset' is required"), std::string::npos);
  json model_attention = {{"name", "m"}, {"model", "base"}, {"dataset", "gcide"}, {"attention", "local"}};
  EXPECT_NE(refusal(model_attention).find("'attention' and 'tau' are for new models"), std::string::npos);
  json null_field = JobsRunsRoot::tiny_form("run", 10);
  null_field["lr"] = nullptr;  // an empty optional field of the web form
  EXPECT_EQ(refusal(null_field), "");
}

TEST_F(LaunchForm, RefusesBadOrTakenNames) {
  for (const char* name : {"", "../escape", "a/b", ".hidden", "-dash", "white space", "/abs"})
    EXPECT_NE(refusal_with("name", name).find("'name'"), std::string::npos) << name;
  EXPECT_NE(refusal_with("name", std::string(65, 'a')), "");
  EXPECT_EQ(refusal_with("name", std::string(64, 'a')), "");
  EXPECT_NE(refusal_with("name", 5).find("'name' must be a string"), std::string::npos);
  EXPECT_NE(refusal_with("name", "base").find("run 'base' already exists"), std::string::npos);
  EXPECT_NE(refusal_with("name", "corpus.txt").find("already exists"), std::string::npos);
}

TEST_F(LaunchForm, DatasetAndModelStayInsideTheRunsDirectory) {
  const fs::path outside = runs_.root().parent_path() / (runs_.root().filename().string() + "-outside.txt");
  std::ofstream(outside) << "secret words\n";
  fs::create_symlink(outside, root() / "link.txt");
  fs::create_directories(root() / "sub");
  for (const std::string& dataset : std::vector<std::string>{"/etc/passwd", "../x.txt", "sub/../../x.txt", "link.txt",
                                                             outside.string(), "missing.txt", "sub"})
    EXPECT_NE(refusal_with("dataset", dataset), "") << dataset;
  EXPECT_NE(refusal_with("dataset", "link.txt").find("outside the runs directory"), std::string::npos);
  EXPECT_NE(refusal_with("dataset", "../x.txt").find("'..' is not allowed"), std::string::npos);
  EXPECT_NE(refusal_with("dataset", "/etc/passwd").find("relative to the runs directory"), std::string::npos);
  std::ofstream(root() / "sub" / "inner.txt") << "words\n";
  EXPECT_EQ(refusal_with("dataset", "sub/inner.txt"), "");

  fs::create_directory_symlink(root() / "base", root() / "base-link");  // inside: fine
  fs::create_directory_symlink("/", root() / "root-link");
  const auto model_refusal = [&](const std::string& model) {
    return refusal({{"name", "m"}, {"model", model}, {"dataset", "gcide"}});
  };
  EXPECT_EQ(model_refusal("base-link"), "");
  EXPECT_NE(model_refusal("root-link").find("outside the runs directory"), std::string::npos);
  EXPECT_NE(model_refusal("../base").find("'..'"), std::string::npos);
  EXPECT_NE(model_refusal(root().string() + "/base").find("relative"), std::string::npos);
  EXPECT_NE(model_refusal("adapter-only").find("holds no model"), std::string::npos);
  EXPECT_NE(model_refusal("nowhere").find("does not exist"), std::string::npos);
  fs::remove(outside);
}

}  // namespace
}  // namespace sieve::dashboard
