// Training checkpoints. Each is a directory run/checkpoints/step-NNNNNNNN holding
// model.safetensors, optimizer.safetensors and state.json (step, data position and loader RNG,
// optimizer step count — which drives the LR schedule —, loss-scaler state, ...): everything a
// resumed run needs to continue with bit-identical losses.
//
// NOTE [Atomic checkpoints]: a checkpoint is written into step-N.partial/, every file fsynced,
// then the directory is renamed to step-N and its parent fsynced. A crash at any moment
// leaves either the complete new checkpoint or none — never a half-written one that
// `latest_checkpoint` would pick — and the previous checkpoints are untouched.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sieve/nn/module.h"

namespace sieve::train {

struct CheckpointContents {
  std::int64_t step = 0;
  nlohmann::json state;            // trainer-owned: data position, RNG, scheduler, ...
  nn::NamedTensors model;          // parameters
  nn::NamedTensors optimizer;      // optimizer state
};

// Writes checkpoint `contents.step` under `checkpoints_dir` and keeps only the newest
// `keep_last` (0 = keep all). Returns the checkpoint's directory.
std::filesystem::path save_checkpoint(const std::filesystem::path& checkpoints_dir, const CheckpointContents& contents,
                                      int keep_last);

// The newest complete checkpoint directory, if any.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& checkpoints_dir);

// Reads a checkpoint directory (tensors copied into owned memory). Its files are untrusted:
// state.json goes through parse_checkpoint_state, the tensors through the safetensors reader.
CheckpointContents load_checkpoint(const std::filesystem::path& checkpoint_dir);

// The largest state.json accepted (the trainer writes a few hundred bytes).
inline constexpr std::size_t kMaxCheckpointStateBytes = 1 << 20;

// Parses the text of a state.json and checks what the trainer will read from it, so a damaged
// or hostile file is a core::UserError naming `source` and the key instead of a wrong value:
//   "step"             required, an integer >= 0
//   "optimizer_steps"  an integer >= 0
//   "loader"           {"rng": four unsigned 64-bit integers, not all 0; "batches": an integer >= 0}
//   "loss_scaler"      {"scale": a finite number > 0 (as f32); "growth_tracker", "skipped_steps",
//                       "applied_steps": integers >= 0; "hysteresis_left": an integer in [1, 2^31)}
// Each key but "step" may be missing (the trainer reports what it needs); other keys are kept.
nlohmann::json parse_checkpoint_state(std::string_view text, std::string_view source);

}  // namespace sieve::train
