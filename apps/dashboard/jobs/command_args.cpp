#include "apps/dashboard/jobs/command_args.h"

namespace sieve::dashboard {
namespace {

bool is_flag(std::string_view word) { return word.size() > 2 && word.starts_with("--"); }

// Whether `word` is `flag`, bare or with "=value".
bool names_flag(std::string_view word, std::string_view flag) {
  return word == flag || (word.starts_with(flag) && word.size() > flag.size() && word[flag.size()] == '=');
}

// The index past the values of the flag at `at`.
std::size_t end_of_values(const std::vector<std::string>& args, std::size_t at) {
  if (args[at].find('=') != std::string::npos) return at + 1;
  std::size_t end = at + 1;
  while (end < args.size() && !is_flag(args[end])) ++end;
  return end;
}

}  // namespace

bool has_flag(const std::vector<std::string>& args, std::string_view flag) {
  return flag_value(args, flag).has_value();
}

std::optional<std::string> flag_value(const std::vector<std::string>& args, std::string_view flag) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (!names_flag(args[i], flag)) continue;
    if (args[i].size() > flag.size()) return args[i].substr(flag.size() + 1);
    return i + 1 < args.size() && !is_flag(args[i + 1]) ? args[i + 1] : std::string();
  }
  return std::nullopt;
}

std::vector<std::string> without_flag(const std::vector<std::string>& args, std::string_view flag) {
  std::vector<std::string> kept;
  for (std::size_t i = 0; i < args.size();) {
    if (names_flag(args[i], flag)) {
      i = end_of_values(args, i);
    } else {
      kept.push_back(args[i++]);
    }
  }
  return kept;
}

std::vector<std::string> with_flag(const std::vector<std::string>& args, std::string_view flag,
                                   const std::vector<std::string>& values) {
  std::vector<std::string> result;
  bool placed = false;
  const auto place = [&] {
    result.emplace_back(flag);
    result.insert(result.end(), values.begin(), values.end());
    placed = true;
  };
  for (std::size_t i = 0; i < args.size();) {
    if (names_flag(args[i], flag)) {
      if (!placed) place();
      i = end_of_values(args, i);
    } else {
      result.push_back(args[i++]);
    }
  }
  if (!placed) place();
  return result;
}

}  // namespace sieve::dashboard
