// Runs the `sieve` binary under test (SIEVE_BINARY) and captures what it printed.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace sieve::testing {

struct CommandResult {
  int exit_code;       // -1 when the process did not exit normally (a crash)
  std::string output;  // stdout and stderr together
};

inline CommandResult run_sieve(const std::string& args) {
  const std::string command = std::string(SIEVE_BINARY) + " " + args + " 2>&1";
  CommandResult result{-1, {}};
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) result.output += buffer.data();
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace sieve::testing
