#include "apps/sieve/run_command.h"

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sieve/core/atomic_file.h"
#include "sieve/train/metrics_log.h"

namespace sieve::apps {
namespace {

std::vector<std::string>& command_line() {
  static std::vector<std::string> words;
  return words;
}

}  // namespace

void remember_command_line(int argc, const char* const* argv) { command_line().assign(argv, argv + argc); }

void write_command_file(const std::filesystem::path& run_dir, std::string_view verb) {
  const std::vector<std::string>& words = command_line();
  if (words.empty()) return;
  // The verb is the first word after the program name that names it (the CLI has no options
  // before the verb, so this is the subcommand itself).
  const auto verb_word = std::find(words.begin() + 1, words.end(), verb);
  if (verb_word == words.end()) return;
  const nlohmann::json command{{"verb", verb},
                               {"args", std::vector<std::string>(verb_word + 1, words.end())},
                               {"cwd", std::filesystem::current_path().string()},
                               {"unix_time", train::unix_time_seconds()}};
  std::filesystem::create_directories(run_dir);
  core::write_file_atomically(run_dir / "command.json", command.dump(2) + "\n");
}

}  // namespace sieve::apps
