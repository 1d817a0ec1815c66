// Run names and where they lead. A run is named by its directory's path under the dashboard's
// --runs root, '/'-separated ("demo", "search-1/trial-02"); names come from requests, so nothing
// a name says may reach outside the root: no "..", no absolute paths, no symbolic link out.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sieve::dashboard {

// At most kMaxRunDepth components, each a part: [A-Za-z0-9][A-Za-z0-9._-]{0,63}.
inline constexpr int kMaxRunDepth = 3;
bool is_valid_run_name(std::string_view name);
bool is_run_name_part(std::string_view part);

// A name that is well formed but names no run (the HTTP API answers 404).
class RunNotFound : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The directory of run `name` under `root` (canonical). Throws core::UserError for a malformed
// name or one whose directory resolves outside the root (a symbolic link out), RunNotFound when
// no directory is there.
std::filesystem::path run_directory(const std::filesystem::path& root, std::string_view name);

// The directory a new run `name` gets under canonical `root` (not created): throws
// core::UserError when the name is malformed, when a run or file of that name exists, or when
// its parent leads outside the root.
std::filesystem::path new_run_directory(const std::filesystem::path& root, std::string_view name);

// The canonical path of the existing file or directory `relative` ('/'-separated, under canonical
// `root`); `what` names it in errors ("--dataset file", "model run"). Throws core::UserError for
// an absolute path, a ".." part, a missing entry or one that resolves outside the root.
std::filesystem::path existing_under_root(const std::filesystem::path& root, std::string_view relative,
                                          std::string_view what);

// Whether canonical `path` is `root` or lies beneath it (both canonical).
bool is_within(const std::filesystem::path& root, const std::filesystem::path& path);

}  // namespace sieve::dashboard
