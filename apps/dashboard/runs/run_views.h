// What the dashboard shows of runs, as JSON (docs/dashboard.md, "API"): a run's summary for the
// run list, its page (config, command, progress and ETA, checkpoints, log tail), and the
// comparison of several runs. Built from a RunSnapshot; no locks, no state.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/dashboard/runs/run_catalog.h"

namespace sieve::dashboard {

// "finished" (trained to its steps), "running" (its metrics changed in the last minute),
// "stopped" (neither), "idle" (no records); a job.json's "state" wins (jobs/ writes it).
std::string run_status(const RunSnapshot& run, double now_unix_time);

// Step, steps, fraction done, elapsed seconds of the current session, and the ETA from the
// recent pace (null when it cannot be told).
nlohmann::json run_progress(const RunSnapshot& run, double now_unix_time);

// {"name","status","step","steps","updated_unix_time","latest":{the newest value of each metric}}.
nlohmann::json run_summary(const std::string& name, const RunSnapshot& run, double now_unix_time);

// The summary plus "config", "command", "start", "progress", "checkpoints", "log_tail".
nlohmann::json run_detail(const std::string& name, const RunSnapshot& run, double now_unix_time);

// {"runs":[names], "final":[{"name", the final metrics}], "config_differences":[{"key","values"}]}
// over config.json, the start record and the command's flags.
nlohmann::json compare_runs(const std::vector<std::string>& names, const std::vector<RunSnapshot>& runs);

}  // namespace sieve::dashboard
