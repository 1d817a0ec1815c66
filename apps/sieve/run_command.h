// The command line a training run was started with, saved in its run directory as command.json
// (docs/metrics.md) so that the run can be resumed, or rerun with some flags changed — what the
// dashboard's jobs and "try it" do.
#pragma once

#include <filesystem>
#include <string_view>

namespace sieve::apps {

// Keeps the process's command line for write_command_file; main() calls it once.
void remember_command_line(int argc, const char* const* argv);

// Writes run_dir/command.json (replacing it): {"verb", "args" (the words after the verb),
// "cwd" (absolute), "unix_time"}. Does nothing when no command line was remembered or it has no
// word `verb` (the work was started from the Python module, not the CLI).
void write_command_file(const std::filesystem::path& run_dir, std::string_view verb);

}  // namespace sieve::apps
