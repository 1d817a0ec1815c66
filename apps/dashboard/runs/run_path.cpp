#include "apps/dashboard/runs/run_path.h"

#include <algorithm>

#include "sieve/core/error.h"

namespace sieve::dashboard {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxPartBytes = 64;

void check_run_name(std::string_view name) {
  SIEVE_USER_CHECK(is_valid_run_name(name),
                   "'{}' is not a run name: up to {} '/'-separated parts of letters, digits, '.', '_' and '-', "
                   "each starting with a letter or digit, at most {} characters",
                   name, kMaxRunDepth, kMaxPartBytes);
}

}  // namespace

bool is_run_name_part(std::string_view part) {
  if (part.empty() || part.size() > kMaxPartBytes) return false;
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (!alnum(part.front())) return false;
  return std::all_of(part.begin(), part.end(), [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

bool is_valid_run_name(std::string_view name) {
  int depth = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = name.find('/', start);
    if (!is_run_name_part(name.substr(start, slash - start)) || ++depth > kMaxRunDepth) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool is_within(const std::filesystem::path& root, const std::filesystem::path& path) {
  const auto [root_end, path_it] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return root_end == root.end();
}

std::filesystem::path run_directory(const std::filesystem::path& root, std::string_view name) {
  check_run_name(name);
  std::error_code error;
  const std::filesystem::path dir = std::filesystem::canonical(root / std::string(name), error);
  if (error || !std::filesystem::is_directory(dir)) throw RunNotFound(fmt::format("no run '{}'", name));
  SIEVE_USER_CHECK(is_within(root, dir), "run '{}' leads outside the runs directory", name);
  return dir;
}

fs::path new_run_directory(const fs::path& root, std::string_view name) {
  check_run_name(name);
  const fs::path dir = root / std::string(name);
  std::error_code error;
  SIEVE_USER_CHECK(!fs::exists(fs::symlink_status(dir, error)), "run '{}' already exists", name);
  // The parent may not exist yet (a search's first trial); what exists of it must stay inside.
  const fs::path parent = fs::weakly_canonical(dir.parent_path(), error);
  SIEVE_USER_CHECK(!error && is_within(root, parent), "run '{}' leads outside the runs directory", name);
  return dir;
}

fs::path existing_under_root(const fs::path& root, std::string_view relative, std::string_view what) {
  const fs::path path{std::string(relative)};
  SIEVE_USER_CHECK(!relative.empty() && path.is_relative(), "{} '{}': give a path relative to the runs directory", what,
                   relative);
  SIEVE_USER_CHECK(std::none_of(path.begin(), path.end(), [](const fs::path& part) { return part == ".."; }),
                   "{} '{}': '..' is not allowed", what, relative);
  std::error_code error;
  const fs::path resolved = fs::canonical(root / path, error);
  SIEVE_USER_CHECK(!error, "{} '{}' does not exist in the runs directory", what, relative);
  SIEVE_USER_CHECK(is_within(root, resolved), "{} '{}' leads outside the runs directory", what, relative);
  return resolved;
}

}  // namespace sieve::dashboard
