#include "apps/dashboard/jobs/job_record.h"

#include <chrono>

#include "apps/dashboard/runs/run_json.h"
#include "sieve/core/atomic_file.h"
#include "sieve/core/error.h"

namespace sieve::dashboard {

namespace fs = std::filesystem;

nlohmann::json command_json(const JobCommand& command) {
  return {{"verb", command.verb}, {"args", command.args}, {"cwd", command.cwd.string()}};
}

JobCommand command_from_json(const nlohmann::json& json) {
  SIEVE_USER_CHECK(json.is_object() && json.contains("verb") && json["verb"].is_string() && json.contains("args") &&
                       json["args"].is_array() && json.contains("cwd") && json["cwd"].is_string(),
                   "a run's command record needs \"verb\", \"args\" and \"cwd\"");
  JobCommand command;
  command.verb = json["verb"].get<std::string>();
  SIEVE_USER_CHECK(command.verb == "train" || command.verb == "finetune" || command.verb == "distill",
                   "a run's command record names verb '{}': only train, finetune and distill runs are resumed",
                   command.verb);
  for (const nlohmann::json& arg : json["args"]) {
    SIEVE_USER_CHECK(arg.is_string(), "a run's command record has an argument that is not a string");
    command.args.push_back(arg.get<std::string>());
  }
  command.cwd = json["cwd"].get<std::string>();
  SIEVE_USER_CHECK(command.cwd.is_absolute(), "a run's command record has a relative cwd '{}'", command.cwd.string());
  return command;
}

std::optional<JobCommand> recorded_command(const fs::path& run_dir) {
  const nlohmann::json command = read_run_json(run_dir / "command.json");
  if (command.is_object()) return command_from_json(command);
  const nlohmann::json job = read_job_record(run_dir);
  if (job.is_object() && job.contains("command")) return command_from_json(job["command"]);
  return std::nullopt;
}

nlohmann::json read_job_record(const fs::path& run_dir) { return read_run_json(run_dir / kJobRecordFile); }

void write_job_record(const fs::path& run_dir, const nlohmann::json& record) {
  core::write_file_atomically(run_dir / kJobRecordFile, record.dump(2) + "\n");
}

double unix_time_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace sieve::dashboard
