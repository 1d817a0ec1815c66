// Checkpoints whose pickle would run code if Python loaded them without weights_only (os.system,
// builtins.eval, subprocess.Popen, a hostile entry inside a valid state dict) are refused with
// the forbidden global named, and nothing runs: the file the code would create never appears.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "sieve/convert_torch/checkpoint_reader.h"
#include "sieve/core/error.h"
#include "temp_dir.h"
#include "torch_python.h"

namespace sieve::convert_torch {
namespace {

namespace fs = std::filesystem;

// Every payload, made by one run of the script (its output is never loaded by Python).
TEST(MaliciousCheckpoint, IsRefusedAndRunsNothing) {
  struct Hostile {
    const char* kind;
    const char* global;  // what the refusal must name
  };
  // Protocol 2 writes Python 2's module names for builtins and subprocess.
  const Hostile payloads[] = {{"os-system", "posix.system"},
                              {"os-system-protocol4", "posix.system"},
                              {"builtins-eval", "__builtin__.eval"},
                              {"subprocess-popen", "commands.Popen"},
                              {"forbidden-in-state-dict", "posix.system"}};
  sieve::testing::TempDir dir;
  const fs::path marker = dir / "marker";
  std::string commands;
  for (const Hostile& hostile : payloads)
    commands += (commands.empty() ? "" : " + ") + std::string("malicious ") + hostile.kind + " " +
                (dir / (std::string(hostile.kind) + ".bin")).string() + " " + marker.string();
  sieve::testing::run_torch_script(commands);
  ASSERT_FALSE(fs::exists(marker)) << "making the files ran a payload";
  for (const Hostile& hostile : payloads) {
    SCOPED_TRACE(hostile.kind);
    try {
      (void)TorchCheckpoint::open_file(dir / (std::string(hostile.kind) + ".bin"));
      ADD_FAILURE() << "accepted";
    } catch (const core::UserError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(std::string("forbidden global '") + hostile.global + "'"), std::string::npos) << message;
    }
    EXPECT_FALSE(fs::exists(marker)) << "loading ran the payload";
  }
}

}  // namespace
}  // namespace sieve::convert_torch
