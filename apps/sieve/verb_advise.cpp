// `sieve advise RUN_DIR`: the optimization advisor's suggestions for one run (the dashboard
// shows the same), from its metrics.jsonl, config.json and command.json and this machine's
// measured GEMM throughput — or a machine profile saved elsewhere (--machine).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "apps/dashboard/advisor/advisor.h"
#include "apps/dashboard/advisor/run_inputs.h"
#include "apps/sieve/verbs.h"
#include "sieve/core/error.h"
#include "sieve/train/metrics_log.h"

namespace sieve::apps {
namespace {

namespace fs = std::filesystem;

struct AdviseArgs {
  std::string run_dir;
  bool json = false;
  std::string machine_file;
};

void print_text(const std::vector<dashboard::Suggestion>& suggestions, const std::string& run_dir) {
  if (suggestions.empty()) {
    std::printf("no suggestions for %s\n", run_dir.c_str());
    return;
  }
  for (const dashboard::Suggestion& suggestion : suggestions) {
    std::string change;
    for (const auto& [flag, value] : suggestion.change) change += " " + flag + (value.empty() ? "" : " " + value);
    std::printf("[%s] %s (%s)\n  evidence: %s\n  expected: %s\n  change:  %s\n  measure:  %s\n\n",
                suggestion.severity.c_str(), suggestion.title.c_str(), suggestion.rule.c_str(),
                suggestion.evidence.c_str(), suggestion.expected_effect.c_str(),
                change.empty() ? " (no flag: see the evidence)" : change.c_str(), suggestion.measure.c_str());
  }
}

void run_advise(const AdviseArgs& args) {
  const fs::path dir(args.run_dir);
  SIEVE_USER_CHECK(fs::is_directory(dir), "run directory '{}' does not exist (or is not a directory)", args.run_dir);
  const fs::path metrics_path = dir / train::kMetricsFile;
  SIEVE_USER_CHECK(fs::is_regular_file(metrics_path),
                   "'{}' has no {}: not a training run directory (sieve train, finetune and distill write one)",
                   args.run_dir, train::kMetricsFile);
  const dashboard::RunInputs run = dashboard::read_run_inputs(dir);

  dashboard::MachineProfile machine;
  if (args.machine_file.empty()) {
    machine = dashboard::measure_machine_for_run(run.config, run.series.start);
  } else {
    std::ifstream in(args.machine_file);
    SIEVE_USER_CHECK(static_cast<bool>(in), "--machine: cannot read '{}'", args.machine_file);
    const nlohmann::json json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    SIEVE_USER_CHECK(!json.is_discarded(), "--machine: '{}' is not JSON", args.machine_file);
    machine = dashboard::machine_profile_from_json(json, args.machine_file);
  }
  const std::vector<dashboard::Suggestion> suggestions = dashboard::advise(run.series, run.config, run.command, machine);
  if (!args.json) {
    print_text(suggestions, args.run_dir);
    return;
  }
  nlohmann::json out{{"run", args.run_dir}, {"suggestions", nlohmann::json::array()}, {"machine", to_json(machine)}};
  for (const dashboard::Suggestion& suggestion : suggestions) out["suggestions"].push_back(to_json(suggestion));
  std::printf("%s\n", out.dump(2).c_str());
}

}  // namespace

void add_advise_verb(CLI::App& app) {
  auto args = std::make_shared<AdviseArgs>();
  CLI::App* cmd = app.add_subcommand(
      "advise", "Optimization suggestions for a training run, from its metrics and this machine's measured speed");
  cmd->add_option("RUN_DIR", args->run_dir, "Run directory (metrics.jsonl; config.json and command.json if present)")
      ->required();
  cmd->add_flag("--json", args->json, "Print {\"run\", \"suggestions\", \"machine\"} as JSON");
  cmd->add_option("--machine", args->machine_file,
                  "A machine profile (the \"machine\" object of --json) to judge the run against instead of "
                  "measuring this machine");
  cmd->callback([args] { run_advise(*args); });
}

}  // namespace sieve::apps
