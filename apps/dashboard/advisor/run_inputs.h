// What the advisor reads of a run directory: its metrics series, its command.json, and the
// config of the model it trains — its own config.json, or, while a run has not written one (a
// fine-tune saves its model at the end, LoRA never), the config its command names.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "apps/dashboard/runs/metrics_file.h"

namespace sieve::dashboard {

struct RunInputs {
  RunSeries series;
  nlohmann::json config;   // null when unknown
  nlohmann::json command;  // null when absent
};

// run_dir/metrics.jsonl (missing: an empty series), run_dir/command.json, and the model config:
// run_dir/config.json, else the one the command names — train's --model-path or finetune's
// --model directory, distill's --student-config file or --student-preset — with relative paths
// taken from the command's cwd. A file that is missing or not a JSON object reads as null.
RunInputs read_run_inputs(const std::filesystem::path& run_dir);

}  // namespace sieve::dashboard
