#include "apps/dashboard/advisor/run_inputs.h"

#include "apps/dashboard/advisor/rules.h"
#include "apps/dashboard/runs/run_json.h"
#include "sieve/io/model_config.h"
#include "sieve/nn/models/presets.h"

namespace sieve::dashboard {
namespace {

namespace fs = std::filesystem;

nlohmann::json json_object_in(const fs::path& file) {
  nlohmann::json json = read_run_json(file);
  return json.is_object() ? json : nlohmann::json(nullptr);
}

// The config of the model the command trains, when it names one outside the run directory.
nlohmann::json commanded_config(const nlohmann::json& command) {
  const std::string verb = command_verb(command);
  const fs::path cwd = command.is_object() && command.value("cwd", nlohmann::json()).is_string()
                           ? fs::path(command["cwd"].get<std::string>())
                           : fs::path();
  const auto path_of = [&](const char* flag) -> std::optional<fs::path> {
    const std::optional<std::string> value = command_flag(command, flag);
    if (!value) return std::nullopt;
    return fs::path(*value).is_absolute() ? fs::path(*value) : cwd / *value;
  };
  if (verb == "train")
    if (const auto dir = path_of("--model-path")) return json_object_in(*dir / "config.json");
  if (verb == "finetune")
    if (const auto dir = path_of("--model")) return json_object_in(*dir / "config.json");
  if (verb == "distill") {
    if (const auto file = path_of("--student-config")) return json_object_in(*file);
    if (const auto preset = command_flag(command, "--student-preset")) {
      try {
        return io::llama_config_to_json(nn::preset_config(*preset));
      } catch (const std::exception&) {
        return nullptr;  // not a preset name
      }
    }
  }
  return nullptr;
}

}  // namespace

RunInputs read_run_inputs(const fs::path& run_dir) {
  RunInputs inputs;
  MetricsFile metrics(run_dir / "metrics.jsonl");
  metrics.refresh();
  inputs.series = series_of(metrics.records());
  inputs.command = json_object_in(run_dir / "command.json");
  inputs.config = json_object_in(run_dir / "config.json");
  if (inputs.config.is_null()) inputs.config = commanded_config(inputs.command);
  return inputs;
}

}  // namespace sieve::dashboard
