// A hyperparameter search request (docs/dashboard.md, SearchSpec) checked and expanded into the
// launch forms of its trials: a grid over value lists, or seeded random draws from value lists
// and (log-)uniform ranges; with successive-halving rungs, every trial trains for the last rung's
// step count (so its learning-rate schedule is the real one) and validates at every rung.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/dashboard/jobs/job_record.h"

namespace sieve::dashboard {

struct SearchTrialPlan {
  std::string run;        // "<search>/trial-NN"
  nlohmann::json params;  // the drawn values, {"lr": 0.003, ...}
  nlohmann::json form;    // base + params + name + steps and eval_interval from the rungs
  JobCommand command;     // what the form runs
};

struct SearchPlan {
  std::string name;
  std::vector<SearchTrialPlan> trials;
  std::vector<std::int64_t> rungs;  // step counts, ascending; the last is every trial's --steps
  int eta = 3;                      // each rung keeps the best 1/eta (at least one)
  int parallel = 1;                 // trials training at once
};

// Fields: "name" (a new run directory, one part), "base" (a LaunchForm without "name"), "mode"
// ("grid", the default, or "random" with "trials" 1..64 and optional "seed"), "parameters" (1..8
// of {"name": <form field>, "values": [...]} or, random only, {"name", "min", "max", "log"}),
// "rungs" (1..8 ascending step counts; absent: one rung, the base's "steps"), "eta" (2..16, default 3), "parallel"
// (1..cores, default cores). At most 64 trials. Every trial's form is checked as a launch form. Throws core::UserError
// naming the field.
SearchPlan plan_search(const nlohmann::json& spec, const std::filesystem::path& root, int cores);

}  // namespace sieve::dashboard
