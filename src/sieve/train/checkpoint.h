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

// Reads a checkpoint directory (tensors copied into owned memory).
CheckpointContents load_checkpoint(const std::filesystem::path& checkpoint_dir);

}  // namespace sieve::train
