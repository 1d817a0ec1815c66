// The dashboard's launch form (docs/dashboard.md, LaunchForm) checked field by field and turned
// into the `sieve train` or `sieve finetune` command line that runs it.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/dashboard/jobs/job_record.h"

namespace sieve::dashboard {

// A form's run and the command that trains it (absolute paths, run from the runs root).
struct LaunchPlan {
  std::string run;            // the new run's name under the root
  std::filesystem::path dir;  // root/run, not created yet
  JobCommand command;
};

// Fields (all but name, dataset, and one of preset/model optional; null reads as absent):
//   name        new run: [A-Za-z0-9][A-Za-z0-9._-]{0,63}, must not exist (a search passes
//               "search/trial-NN" with `allow_nested`)
//   preset      tiny | demo | lm-17m                      (a new model: sieve train --preset)
//   model       a run under the root holding config.json and model.safetensors (--model-path)
//   dataset     gcide | foldoc | wikitext-2 | a file under the root (relative path)
//   precision   fp32 | bf16 | fp16 | tf32 | auto
//   lr (0, 1]   batch 1..1024   grad_accum 1..1024   context 8..65536   steps 1..10^7
//   attention   dense | local | sparse (new models only)   tau [0, 1] (sparse threshold)
//   lora_rank   0..1024 (0: off; >0 needs model and runs sieve finetune --lora)
//   max_bytes   0..2^40 (0: all)   eval_interval 0..10^7   log_interval 1..10^7
//   eval_windows 0..10^6   val_fraction (0, 0.5]
// Unknown fields are refused (a typo would silently train something else). Throws
// core::UserError naming the field.
LaunchPlan plan_launch(const nlohmann::json& form, const std::filesystem::path& root, bool allow_nested = false);

}  // namespace sieve::dashboard
