// libFuzzer target: a checkpoint's state.json (train::parse_checkpoint_state). A
// core::UserError is the expected answer to a bad state; anything else is a bug and crashes
// the run — including an accepted state that the trainer's own reads would then reject
// (the reads below are the ones Trainer::try_resume makes).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_inputs.h"
#include "sieve/core/error.h"
#include "sieve/core/rng.h"
#include "sieve/train/checkpoint.h"
#include "sieve/train/loss_scaler.h"

namespace fz = sieve::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json state;
  try {
    state = sieve::train::parse_checkpoint_state(text, "fuzz input");
  } catch (const sieve::core::UserError&) {
    return 0;
  }
  try {
    if (state.at("step").get<std::int64_t>() < 0) fz::broken("negative step");
    if (state.contains("optimizer_steps") && state.at("optimizer_steps").get<std::int64_t>() < 0)
      fz::broken("negative optimizer_steps");
    if (state.contains("loader")) {
      const auto rng = state.at("loader").at("rng").get<sieve::core::Rng::State>();
      if (rng == sieve::core::Rng::State{}) fz::broken("all-zero generator state");
      if (state.at("loader").at("batches").get<std::int64_t>() < 0) fz::broken("negative batch count");
    }
    if (state.contains("loss_scaler")) {
      sieve::train::LossScaler scaler;
      scaler.load_state(state.at("loss_scaler").get<sieve::train::LossScalerState>());
    }
  } catch (const nlohmann::json::exception&) {
    fz::broken("an accepted state.json fails the trainer's reads");
  } catch (const sieve::core::UserError&) {
    fz::broken("an accepted state.json holds a loss-scaler state the scaler refuses");
  }
  return 0;
}
