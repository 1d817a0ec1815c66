#include "apps/dashboard/runs/run_path.h"

#include <algorithm>

#include "sieve/core/error.h"

namespace sieve::dashboard {
namespace {

constexpr std::size_t kMaxComponentBytes = 64;

bool is_valid_component(std::string_view component) {
  if (component.empty() || component.size() > kMaxComponentBytes) return false;
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (!alnum(component.front())) return false;
  for (const char c : component)
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

}  // namespace

bool is_valid_run_name(std::string_view name) {
  int depth = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = name.find('/', start);
    if (!is_valid_component(name.substr(start, slash - start)) || ++depth > kMaxRunDepth) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool is_within(const std::filesystem::path& root, const std::filesystem::path& path) {
  const auto [root_end, path_it] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return root_end == root.end();
}

std::filesystem::path run_directory(const std::filesystem::path& root, std::string_view name) {
  SIEVE_USER_CHECK(is_valid_run_name(name),
                   "'{}' is not a run name: up to {} '/'-separated parts of letters, digits, '.', '_' and '-', "
                   "each starting with a letter or digit",
                   name, kMaxRunDepth);
  std::error_code error;
  const std::filesystem::path dir = std::filesystem::canonical(root / std::string(name), error);
  if (error || !std::filesystem::is_directory(dir)) throw RunNotFound(fmt::format("no run '{}'", name));
  SIEVE_USER_CHECK(is_within(root, dir), "run '{}' leads outside the runs directory", name);
  return dir;
}

}  // namespace sieve::dashboard
