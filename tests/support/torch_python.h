// Runs tests/convert_torch/torch_checkpoints.py (PyTorch's side of the conversion tests) with
// Debian's /usr/bin/python3, which has python3-torch (scripts/install-deps.sh --test).
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

namespace sieve::testing {

inline const std::filesystem::path kTorchCheckpointsScript =
    std::filesystem::path(SIEVE_FIXTURE_DIR) / ".." / "convert_torch" / "torch_checkpoints.py";

// Runs the script with `args`; a failure (no torch, an assertion in the script) fails the test.
inline void run_torch_script(const std::string& args) {
  const std::string command = "/usr/bin/python3 " + kTorchCheckpointsScript.string() + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) output += buffer.data();
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << command << "\n" << output << "(PyTorch comes with scripts/install-deps.sh --test)";
}

}  // namespace sieve::testing
