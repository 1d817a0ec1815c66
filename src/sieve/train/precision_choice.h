// Picks the precision policy a training run uses: fixed by name, or measured (`auto`).
//
// NOTE [Automatic precision]: `auto` looks at what the CPU offers (avx512_bf16, avx512_fp16,
// amx) and then times the model's own matrix products — the forward GEMM and both backward
// GEMMs of every distinct linear-layer shape at the run's tokens per micro-batch — in each
// candidate compute dtype, cast costs included. It keeps the fastest candidate that is
// numerically safe without extra care (f32, or bf16 with its f32 range); fp16 is a candidate
// only where the CPU computes in fp16 natively, and then turns dynamic loss scaling on; tf32 is
// never picked on a CPU (an emulation there, slower by construction). The measurements are
// cached per machine and shape set, so later runs decide instantly; the report printed with
// the decision lists every measurement behind it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "sieve/nn/models/llama_config.h"
#include "sieve/ops/precision.h"

namespace sieve::train {

struct PrecisionChoiceOptions {
  // Where measurements are cached (empty: $SIEVE_CACHE_DIR, else $XDG_CACHE_HOME/sieve, else
  // ~/.cache/sieve). A cache that cannot be read or written is ignored with a note in the report.
  std::filesystem::path cache_dir;
  bool use_cache = true;
  double seconds_per_candidate = 0.5;  // measuring budget for each candidate dtype
};

struct PrecisionChoice {
  std::string mode;             // as requested: fp32, bf16, fp16, tf32 or auto
  ops::PrecisionPolicy policy;  // what the run uses
  bool loss_scaling = false;    // dynamic loss scaling on (fp16)
  bool measured = false;        // auto: the timings below were taken (or read from the cache)
  bool from_cache = false;
  double f32_gflops = 0.0;      // auto: model-shape GEMM throughput per candidate (0: not a candidate)
  double bf16_gflops = 0.0;
  double f16_gflops = 0.0;
  std::string report;           // human-readable: the hardware, the measurements, the reason
};

// A core::UserError naming --precision unless mode is fp32, bf16, fp16, tf32 or auto (cheap:
// lets a command reject a typo before any slow setup).
void check_precision_mode(std::string_view mode);

// mode: "fp32" | "bf16" | "fp16" | "tf32" | "auto" (checked as above). `tokens` is the number of token rows in one micro-batch (batch × context).
PrecisionChoice choose_precision(std::string_view mode, const nn::LlamaConfig& config, std::int64_t tokens,
                                 const PrecisionChoiceOptions& options = {});

}  // namespace sieve::train
