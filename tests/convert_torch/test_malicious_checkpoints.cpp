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

struct Hostile {
  const char* kind;
  const char* global;  // what the refusal must name
};

class MaliciousCheckpoint : public ::testing::TestWithParam<Hostile> {};

TEST_P(MaliciousCheckpoint, IsRefusedAndRunsNothing) {
  const Hostile hostile = GetParam();
  sieve::testing::TempDir dir;
  const fs::path checkpoint = dir / "evil.bin", marker = dir / "marker";
  sieve::testing::run_torch_script(std::string("malicious ") + hostile.kind + " " + checkpoint.string() + " " +
                                   marker.string());
  ASSERT_FALSE(fs::exists(marker)) << "making the file ran its payload";
  try {
    (void)TorchCheckpoint::open_file(checkpoint);
    ADD_FAILURE() << hostile.kind << ": accepted";
  } catch (const core::UserError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(std::string("forbidden global '") + hostile.global + "'"), std::string::npos) << message;
  }
  EXPECT_FALSE(fs::exists(marker)) << "loading ran the payload";
}

INSTANTIATE_TEST_SUITE_P(Payloads, MaliciousCheckpoint,
                         ::testing::Values(Hostile{"os-system", "posix.system"},
                                           Hostile{"os-system-protocol4", "posix.system"},
                                           // Protocol 2 writes Python 2's module names for these two.
                                           Hostile{"builtins-eval", "__builtin__.eval"},
                                           Hostile{"subprocess-popen", "commands.Popen"},
                                           Hostile{"forbidden-in-state-dict", "posix.system"}),
                         [](const auto& info) {
                           std::string name = info.param.kind;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace sieve::convert_torch
