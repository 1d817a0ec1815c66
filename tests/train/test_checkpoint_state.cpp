// state.json is read back from disk on --resume: a damaged or hostile file is a UserError naming
// the file and the key, and what is accepted is what the trainer can use.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "fuzz_seeds.h"
#include "sieve/core/error.h"
#include "sieve/train/checkpoint.h"
#include "temp_dir.h"

namespace sieve::train {
namespace {

using nlohmann::json;

const json kTrainerState = json::parse(R"({"step": 12, "optimizer_steps": 11,
    "loader": {"rng": [1, 2, 3, 18446744073709551615], "batches": 12},
    "loss_scaler": {"scale": 32768.0, "growth_tracker": 3, "hysteresis_left": 1, "skipped_steps": 1,
                    "applied_steps": 11}})");

std::string rejection(const json& state) {
  try {
    parse_checkpoint_state(state.dump(), "run/state.json");
  } catch (const core::UserError& e) {
    return e.what();
  }
  return "(accepted)";
}

json with(json state, const json::json_pointer& key, json value) {
  state[key] = std::move(value);
  return state;
}

TEST(CheckpointState, AcceptsWhatTheTrainerWrites) {
  EXPECT_EQ(parse_checkpoint_state(kTrainerState.dump(2), "state.json"), kTrainerState);
  EXPECT_NO_THROW(parse_checkpoint_state(R"({"step": 0, "marker": [1, 2]})", "state.json"));
}

TEST(CheckpointState, RejectsValuesTheTrainerCannotUse) {
  const auto expect = [](const json& state, const std::string& needle) {
    const std::string message = rejection(state);
    EXPECT_NE(message.find("run/state.json"), std::string::npos) << message;
    EXPECT_NE(message.find(needle), std::string::npos) << message;
  };
  expect(json::parse(R"({"optimizer_steps": 3})"), "'step'");
  expect(with(kTrainerState, "/step"_json_pointer, -1), "'step': expected an integer in [0");
  expect(with(kTrainerState, "/step"_json_pointer, 1.5), "'step'");
  expect(with(kTrainerState, "/optimizer_steps"_json_pointer, "11"), "'optimizer_steps'");
  expect(with(kTrainerState, "/loader/rng"_json_pointer, json::array({0, 0, 0, 0})), "'loader.rng': an all-zero");
  expect(with(kTrainerState, "/loader/rng"_json_pointer, json::array({1, 2, 3})), "'loader.rng'");
  expect(with(kTrainerState, "/loader/rng/0"_json_pointer, -1), "'loader.rng'");
  expect(with(kTrainerState, "/loader/batches"_json_pointer, -3), "'loader.batches'");
  expect(with(kTrainerState, "/loader"_json_pointer, json::array()), "'loader': expected an object");
  expect(with(kTrainerState, "/loss_scaler/scale"_json_pointer, 0), "'loss_scaler.scale'");
  expect(with(kTrainerState, "/loss_scaler/scale"_json_pointer, 1e39), "'loss_scaler.scale'");  // inf as f32
  expect(with(kTrainerState, "/loss_scaler/scale"_json_pointer, 1e-50), "'loss_scaler.scale'");  // 0 as f32
  expect(with(kTrainerState, "/loss_scaler/hysteresis_left"_json_pointer, 0), "'loss_scaler.hysteresis_left'");
  expect(with(kTrainerState, "/loss_scaler/hysteresis_left"_json_pointer, std::int64_t{1} << 32),
         "'loss_scaler.hysteresis_left'");
  expect(with(kTrainerState, "/loss_scaler/applied_steps"_json_pointer, nullptr), "'loss_scaler.applied_steps'");
}

TEST(CheckpointState, RejectsMalformedJson) {
  EXPECT_THROW(parse_checkpoint_state("{\"step\": 3,", "state.json"), core::UserError);
  EXPECT_THROW(parse_checkpoint_state("[1]", "state.json"), core::UserError);
  EXPECT_THROW(parse_checkpoint_state(std::string(1000, '[') + std::string(1000, ']'), "state.json"),
               core::UserError);
  EXPECT_THROW(parse_checkpoint_state(std::string(kMaxCheckpointStateBytes + 1, ' '), "state.json"),
               core::UserError);
}

TEST(CheckpointState, LoadCheckpointReadsStateThroughTheParser) {
  sieve::testing::TempDir dir;
  std::ofstream(dir / "state.json") << R"({"step": -4})";
  EXPECT_THROW(load_checkpoint(dir.path()), core::UserError);
  {
    std::ofstream big(dir / "state.json");
    big << R"({"step": 1, "pad": ")" << std::string(kMaxCheckpointStateBytes, 'x') << "\"}";
  }
  try {
    load_checkpoint(dir.path());
    ADD_FAILURE() << "an oversized state.json was read";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("at most"), std::string::npos) << e.what();
  }
}

TEST(CheckpointState, FuzzSeeds) {
  sieve::testing::check_fuzz_seeds("checkpoint_state", [](const std::string& text, const std::string& name) {
    (void)parse_checkpoint_state(text, name);
  });
}

}  // namespace
}  // namespace sieve::train
