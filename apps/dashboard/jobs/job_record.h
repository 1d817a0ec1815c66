// What a run directory records about the process that trains it: the command that started it
// (command.json, written by `sieve train`/`finetune`/`distill` themselves) and the dashboard's job
// state (job.json), so that a restarted dashboard knows how each launched run ended.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sieve::dashboard {

// `sieve <verb> <args...>` run in `cwd` (relative paths in args are relative to it).
struct JobCommand {
  std::string verb;
  std::vector<std::string> args;
  std::filesystem::path cwd;
};

nlohmann::json command_json(const JobCommand& command);
// {"verb","args","cwd"} as command.json holds it; throws core::UserError when malformed or when
// the verb is not one of train, finetune, distill.
JobCommand command_from_json(const nlohmann::json& json);

// The command a run was started with: its command.json, else the "command" the dashboard kept in
// its job.json when it launched the run (for a `sieve` that does not write command.json).
std::optional<JobCommand> recorded_command(const std::filesystem::path& run_dir);

// job.json: {"pid","state","exit_code","started_unix_time","ended_unix_time","command"}; null when
// absent or unreadable.
nlohmann::json read_job_record(const std::filesystem::path& run_dir);
void write_job_record(const std::filesystem::path& run_dir, const nlohmann::json& record);

double unix_time_now();

}  // namespace sieve::dashboard
