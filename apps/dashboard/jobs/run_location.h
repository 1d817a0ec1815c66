// Where the directories and files that requests name for new jobs lie: always inside the
// dashboard's --runs root. Names from requests never reach outside it: no absolute paths, no "..",
// no symbolic link that leads out.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string_view>

namespace sieve::dashboard {

// A well-formed run name with no directory under the root (the HTTP API answers 404).
class NoSuchRun : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One part of a run name: [A-Za-z0-9][A-Za-z0-9._-]{0,63}.
bool is_run_name_part(std::string_view part);

// The directory a new run `name` ('/'-separated parts, at most 3) gets under canonical `root`:
// throws core::UserError when the name is malformed, when a run or file of that name exists, or
// when its parent directory leads outside the root. The directory is not created.
std::filesystem::path new_run_directory(const std::filesystem::path& root, std::string_view name);

// The canonical directory of the existing run `name`: throws core::UserError for a malformed name
// or one that resolves outside the root, NoSuchRun when there is no such directory.
std::filesystem::path existing_run_directory(const std::filesystem::path& root, std::string_view name);

// The canonical path of the existing file or directory `relative` ('/'-separated, under canonical
// `root`); `what` names it in errors ("--dataset file", "model run"). Throws core::UserError for an
// absolute path, a ".." part, a missing entry or one that resolves outside the root.
std::filesystem::path existing_under_root(const std::filesystem::path& root, std::string_view relative,
                                          std::string_view what);

}  // namespace sieve::dashboard
