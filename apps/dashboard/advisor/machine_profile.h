// What the machine can do, for the advisor's throughput and memory rules and GET /api/machine:
// cores, memory, the instruction set, and the GEMM throughput `--precision auto` measures
// (train/precision_choice.h) — taken through choose_precision, so a measurement a run already
// made is read from its per-machine cache instead of being timed again.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sieve/nn/models/llama_config.h"

namespace sieve::dashboard {

struct MachineProfile {
  int cores = 0;             // CPUs this process may run on
  double memory_mb = 0.0;    // physical memory, or the cgroup's limit when lower (MiB)
  std::string isa;           // Sieve's kernel instruction set: "avx512", "avx2" or "scalar"
  double gemm_gflops_fp32 = 0.0;  // the model's linear layers, forward and backward (0: unknown)
  double gemm_gflops_bf16 = 0.0;  // casts included; 0 where bf16 has no GEMM of its own
  bool bf16_native = false;       // oneDNN has a bf16 GEMM here (else bf16 is widened to f32: slower)
};

// Measures (or reads from the cache) the GEMM throughput for `config`'s linear-layer shapes at
// `tokens` rows per micro-batch: the numbers `sieve train --precision auto` bases its choice on.
MachineProfile measure_machine(const nn::LlamaConfig& config, std::int64_t tokens);
// The same for a reference model: the demo preset at 1024 rows.
MachineProfile measure_machine();
// For a run: the shapes of its config.json at its start record's batch × context; the reference
// when the config is null or not a model config Sieve reads, or the start record lacks them.
MachineProfile measure_machine_for_run(const nlohmann::json& config, const nlohmann::json& start);

// {"cores","memory_mb","isa","gemm_gflops":{"fp32","bf16"},"bf16_native"}
nlohmann::json to_json(const MachineProfile& machine);
// The inverse of to_json, for a profile saved on another machine; a core::UserError naming
// `source` when a field is missing or of the wrong type.
MachineProfile machine_profile_from_json(const nlohmann::json& json, std::string_view source);

}  // namespace sieve::dashboard
