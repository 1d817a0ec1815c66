// The optimization advisor: rules over one run's metrics (docs/metrics.md), its config.json and
// command.json, and the machine's measured capabilities. Each rule that fires gives a Suggestion
// with the numbers that triggered it, a flag change where one applies, and the metric an A/B run
// compares; a healthy run gets none. The rules and their thresholds are in rules_*.cpp, each
// threshold a named constant with the reason for its value.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "apps/dashboard/advisor/machine_profile.h"
#include "apps/dashboard/advisor/suggestion.h"
#include "apps/dashboard/runs/metrics_file.h"

namespace sieve::dashboard {

// `config`: the run's config.json, `command`: its command.json — each null when absent. Never
// throws on odd metrics: a field a rule needs and the run lacks (or has as null) keeps that rule
// quiet. Suggestions come in a fixed rule order: stability first, then speed, then progress.
std::vector<Suggestion> advise(const RunSeries& series, const nlohmann::json& config, const nlohmann::json& command,
                               const MachineProfile& machine);

}  // namespace sieve::dashboard
