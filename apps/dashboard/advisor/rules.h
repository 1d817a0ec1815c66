// The advisor's rules (advisor.h) and what they share: the run as the rules see it, and reading
// its command line and series. Each rule returns its suggestion, or nothing when the run does not
// show its pattern.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/dashboard/advisor/machine_profile.h"
#include "apps/dashboard/advisor/suggestion.h"
#include "apps/dashboard/runs/metrics_file.h"

namespace sieve::dashboard {

struct RunInput {
  const RunSeries& series;
  const nlohmann::json& config;   // config.json or null
  const nlohmann::json& command;  // command.json or null
  const MachineProfile& machine;
};

// rules_stability.cpp
std::optional<Suggestion> divergence_rule(const RunInput& run);
std::optional<Suggestion> fp16_overflow_rule(const RunInput& run);
// rules_speed.cpp
std::optional<Suggestion> throughput_rule(const RunInput& run);
std::optional<Suggestion> memory_rule(const RunInput& run);
// rules_progress.cpp
std::optional<Suggestion> overfitting_rule(const RunInput& run);
std::optional<Suggestion> plateau_rule(const RunInput& run);
// rules_sparse.cpp
std::optional<Suggestion> low_coverage_rule(const RunInput& run);

// --- shared by the rules (run_facts.cpp) ---

// The value command.json's args give `flag` ("--lr 0.001" or "--lr=0.001"; the last one wins),
// or nothing.
std::optional<std::string> command_flag(const nlohmann::json& command, std::string_view flag);
// The same as a number (nothing when absent or not a number).
std::optional<double> command_number(const nlohmann::json& command, std::string_view flag);
// Whether the switch `flag` is among the args.
bool command_switch(const nlohmann::json& command, std::string_view flag);
// command.json's verb ("train", "finetune", "distill"), or "" without one.
std::string command_verb(const nlohmann::json& command);

// A step and the value a series has there.
struct Point {
  double step = 0.0;
  double value = 0.0;
};
// The finite values of `field` over `records`, in step order (null and absent ones left out).
std::vector<Point> points(const std::vector<nlohmann::json>& records, const char* field);
double median(std::vector<double> values);  // 0 for none
// The precision the run trained in: "fp32", "bf16", "fp16", "tf32" (the start record's, else the
// last train record's, without the "(... activations)" note), or "" when unknown.
std::string run_precision(const RunSeries& series);
// The peak learning rate: --lr from the command, else the largest lr logged (0: unknown).
double peak_lr(const RunInput& run);
// The largest peak_rss_mb logged (0: none).
double peak_rss_mb(const RunSeries& series);
// Parameters each token's forward and backward multiplies by (about 6 FLOPs each): the linear
// layers of config.json when it is a model config, else the start record's `parameters` (0:
// unknown).
double gemm_parameters(const RunInput& run);
// A number as a flag value or in a sentence: 3 significant digits, no trailing zeros.
std::string number_text(double value);

}  // namespace sieve::dashboard
