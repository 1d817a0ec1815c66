#include "apps/dashboard/jobs/run_location.h"

#include <algorithm>
#include <string>

#include "sieve/core/error.h"

namespace sieve::dashboard {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxPartBytes = 64;
constexpr int kMaxRunDepth = 3;

bool inside(const fs::path& root, const fs::path& path) {
  const auto [root_end, path_it] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return root_end == root.end();
}

void check_run_name(std::string_view name) {
  int depth = 0;
  bool valid = true;
  for (std::size_t start = 0; valid;) {
    const std::size_t slash = name.find('/', start);
    valid = is_run_name_part(name.substr(start, slash - start)) && ++depth <= kMaxRunDepth;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  SIEVE_USER_CHECK(valid,
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

fs::path new_run_directory(const fs::path& root, std::string_view name) {
  check_run_name(name);
  const fs::path dir = root / std::string(name);
  std::error_code error;
  SIEVE_USER_CHECK(!fs::exists(fs::symlink_status(dir, error)), "run '{}' already exists", name);
  // The parent may not exist yet (a search's first trial); what exists of it must stay inside.
  const fs::path parent = fs::weakly_canonical(dir.parent_path(), error);
  SIEVE_USER_CHECK(!error && inside(root, parent), "run '{}' leads outside the runs directory", name);
  return dir;
}

fs::path existing_run_directory(const fs::path& root, std::string_view name) {
  check_run_name(name);
  std::error_code error;
  const fs::path dir = fs::canonical(root / std::string(name), error);
  if (error || !fs::is_directory(dir)) throw NoSuchRun(fmt::format("no run '{}'", name));
  SIEVE_USER_CHECK(inside(root, dir), "run '{}' leads outside the runs directory", name);
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
  SIEVE_USER_CHECK(inside(root, resolved), "{} '{}' leads outside the runs directory", what, relative);
  return resolved;
}

}  // namespace sieve::dashboard
