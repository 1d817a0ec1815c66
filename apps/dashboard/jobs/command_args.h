// Editing a `sieve` command line flag by flag, to resume a run or rerun it with some settings
// changed. A flag is a word starting with "--" ("--lr", or "--lr=0.01" with its value attached);
// the words after it up to the next flag are its values ("--data a.txt b.txt"; "-1" is a value).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sieve::dashboard {

bool has_flag(const std::vector<std::string>& args, std::string_view flag);
// The flag's first value (empty for a switch); nullopt when the flag is absent.
std::optional<std::string> flag_value(const std::vector<std::string>& args, std::string_view flag);
// The command line without every occurrence of `flag` and its values.
std::vector<std::string> without_flag(const std::vector<std::string>& args, std::string_view flag);
// The command line with `flag` set to `values` (none: a switch): replaces the first occurrence in
// place (dropping any others) or appends it.
std::vector<std::string> with_flag(const std::vector<std::string>& args, std::string_view flag,
                                   const std::vector<std::string>& values);

}  // namespace sieve::dashboard
