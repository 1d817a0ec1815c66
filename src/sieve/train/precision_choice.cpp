// See NOTE [Automatic precision] in precision_choice.h. Letters: N token rows of a
// micro-batch, K input features, M output features of a linear layer.
#include "sieve/train/precision_choice.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sieve/core/atomic_file.h"
#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/core/tensor.h"
#include "sieve/kernels/cpu/convert.h"
#include "sieve/kernels/cpu/matmul.h"

namespace sieve::train {
namespace {

namespace fs = std::filesystem;
using core::DType;
using core::Tensor;
using kernels::cpu::MatmulSpec;

// Rows timed per shape: enough to reach a GEMM's steady throughput, few enough that timing
// every distinct shape three ways stays within a second or two.
constexpr std::int64_t kMaxTimedRows = 1024;
// bf16 must beat f32 by this much to be chosen: closer than that is measurement noise.
constexpr double kRequiredSpeedup = 1.05;

struct LinearShape {
  std::int64_t m = 0, k = 0;  // weight [M, K]
  std::int64_t count = 0;     // how many layers of the model have it
};

// Every distinct linear-layer shape of the model with its multiplicity.
std::vector<LinearShape> linear_shapes(const nn::LlamaConfig& config) {
  const std::int64_t hidden = config.hidden_size, D = config.head_dim();
  std::vector<LinearShape> shapes;
  const auto add = [&](std::int64_t m, std::int64_t k, std::int64_t count) {
    for (LinearShape& s : shapes)
      if (s.m == m && s.k == k) {
        s.count += count;
        return;
      }
    shapes.push_back({m, k, count});
  };
  for (std::int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {  // widths differ when pruned
    const std::int64_t q = config.heads(layer) * D, kv = config.kv_heads(layer) * D;
    const std::int64_t inter = config.intermediate(layer);
    add(q, hidden, 1);           // q_proj
    add(hidden, q, 1);           // o_proj
    add(kv, hidden, 2);          // k_proj, v_proj
    add(inter, hidden, 2);       // gate_proj, up_proj
    add(hidden, inter, 1);       // down_proj
  }
  add(config.vocab_size, hidden, 1);  // lm_head
  return shapes;
}

MatmulSpec spec(DType operands, std::int64_t m, std::int64_t n, std::int64_t k, bool trans_a, bool trans_b) {
  MatmulSpec s;
  s.a_dtype = s.b_dtype = operands;
  s.m = m;
  s.n = n;
  s.k = k;
  s.trans_a = trans_a;
  s.trans_b = trans_b;
  return s;
}

// Seconds for one linear layer's forward and backward GEMMs at N rows in `operands`, casts
// from f32 included when the operands are narrower.
class LayerTimer {
 public:
  LayerTimer(const LinearShape& shape, std::int64_t rows)
      : shape_(shape), rows_(rows), x_(Tensor::full({rows, shape.k}, 0.01)), w_(Tensor::full({shape.m, shape.k}, 0.02)),
        dy_(Tensor::full({rows, shape.m}, 0.03)), y_(Tensor::empty({rows, shape.m})),
        dx_(Tensor::empty({rows, shape.k})), dw_(Tensor::empty({shape.m, shape.k})) {}

  double run(DType operands) {
    const auto start = std::chrono::steady_clock::now();
    const Tensor x = cast(x_, operands), w = cast(w_, operands), dy = cast(dy_, operands);
    const std::int64_t n = rows_, m = shape_.m, k = shape_.k;
    // y = x·Wᵀ, dx = dy·W, dW = dyᵀ·x
    kernels::cpu::matmul(spec(operands, n, m, k, false, true), x.raw_data(), w.raw_data(), y_.raw_data());
    kernels::cpu::matmul(spec(operands, n, k, m, false, false), dy.raw_data(), w.raw_data(), dx_.raw_data());
    kernels::cpu::matmul(spec(operands, m, k, n, true, false), dy.raw_data(), x.raw_data(), dw_.raw_data());
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  double flops() const { return 6.0 * static_cast<double>(rows_ * shape_.m * shape_.k); }

 private:
  static Tensor cast(const Tensor& x, DType to) {
    if (to == DType::f32) return x;
    Tensor out = Tensor::empty(x.shape(), to);
    kernels::cpu::convert(DType::f32, to, x.numel(), x.raw_data(), out.raw_data());
    return out;
  }

  LinearShape shape_;
  std::int64_t rows_;
  Tensor x_, w_, dy_, y_, dx_, dw_;
};

// GFLOP/s of the model's linear layers in `operands`, weighted by how often each shape occurs:
// the best of repeated passes over all shapes within the budget (at least two).
double measure_gflops(const std::vector<LinearShape>& shapes, std::int64_t rows, DType operands, double budget) {
  std::vector<LayerTimer> timers;
  for (const LinearShape& shape : shapes) timers.emplace_back(shape, rows);
  double weighted_flops = 0.0;
  for (std::size_t i = 0; i < shapes.size(); ++i) weighted_flops += timers[i].flops() * static_cast<double>(shapes[i].count);
  for (LayerTimer& timer : timers) timer.run(operands);  // warm-up: primitive creation, page faults
  double best = 0.0, spent = 0.0;
  for (int pass = 0; pass < 2 || spent < budget; ++pass) {
    double seconds = 0.0;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      const double t = timers[i].run(operands);
      seconds += t * static_cast<double>(shapes[i].count);
      spent += t;
    }
    best = pass == 0 ? seconds : std::min(best, seconds);
    if (pass > 50) break;
  }
  return weighted_flops / best / 1e9;
}

fs::path default_cache_dir() {
  if (const char* dir = std::getenv("SIEVE_CACHE_DIR"); dir != nullptr && *dir != '\0') return dir;
  if (const char* dir = std::getenv("XDG_CACHE_HOME"); dir != nullptr && *dir != '\0') return fs::path(dir) / "sieve";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return fs::path(home) / ".cache" / "sieve";
  return {};
}

// What the measurement depends on: the machine and the shapes.
std::string cache_key(const std::vector<LinearShape>& shapes, std::int64_t rows) {
  std::string key = core::cpu_features().describe() + fmt::format(" bf16_gemm={} threads={} rows={}",
                                                                 kernels::cpu::matmul_bf16_is_native() ? "native" : "widened",
                                                                 core::num_threads(), rows);
  for (const LinearShape& s : shapes) key += fmt::format(" {}x{}x{}", s.m, s.k, s.count);
  return key;
}

fs::path cache_file(const fs::path& dir, const std::string& key) {
  return dir / fmt::format("precision-{:016x}.json", std::hash<std::string>{}(key));
}

bool read_cache(const fs::path& file, const std::string& key, PrecisionChoice& choice) {
  std::ifstream in(file);
  if (!in) return false;
  const nlohmann::json cached = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!cached.is_object() || cached.value("key", "") != key || !cached.contains("f32_gflops") ||
      !cached.contains("bf16_gflops"))
    return false;
  const auto& f32 = cached["f32_gflops"];
  const auto& bf16 = cached["bf16_gflops"];
  if (!f32.is_number() || !bf16.is_number() || f32.get<double>() <= 0.0 || bf16.get<double>() < 0.0) return false;
  choice.f32_gflops = f32.get<double>();
  choice.bf16_gflops = bf16.get<double>();
  return true;
}

std::string features_line() {
  const core::CpuFeatures& cpu = core::cpu_features();
  const auto yes = [](bool b) { return b ? "yes" : "no"; };
  return fmt::format("hardware: CPU avx512_bf16={} avx512_fp16={} amx={} ({} threads)", yes(cpu.avx512_bf16),
                     yes(cpu.avx512_fp16), yes(cpu.amx_tile), core::num_threads());
}

void choose_automatically(const nn::LlamaConfig& config, std::int64_t tokens, const PrecisionChoiceOptions& options,
                          PrecisionChoice& choice) {
  const std::vector<LinearShape> shapes = linear_shapes(config);
  const std::int64_t rows = std::clamp<std::int64_t>(tokens, 1, kMaxTimedRows);
  const bool bf16_candidate = kernels::cpu::matmul_bf16_is_native();  // widened bf16 is never faster
  std::string& report = choice.report;
  report += features_line() + "\n";

  const std::string key = cache_key(shapes, rows);
  const fs::path dir = options.cache_dir.empty() ? default_cache_dir() : options.cache_dir;
  const fs::path file = dir.empty() ? fs::path() : cache_file(dir, key);
  if (options.use_cache && !file.empty() && read_cache(file, key, choice)) {
    choice.from_cache = true;
    report += fmt::format("measurements: from {}\n", file.string());
  } else {
    choice.f32_gflops = measure_gflops(shapes, rows, DType::f32, options.seconds_per_candidate);
    if (bf16_candidate) choice.bf16_gflops = measure_gflops(shapes, rows, DType::bf16, options.seconds_per_candidate);
    if (options.use_cache && !file.empty()) {
      const nlohmann::json record = {{"key", key}, {"f32_gflops", choice.f32_gflops}, {"bf16_gflops", choice.bf16_gflops}};
      try {
        fs::create_directories(dir);
        core::write_file_atomically(file, record.dump(2) + "\n");
        report += fmt::format("measurements: cached in {}\n", file.string());
      } catch (const std::exception& e) {
        report += fmt::format("measurements: not cached ({})\n", e.what());
      }
    }
  }
  choice.measured = true;
  report += fmt::format("  fp32: {:.1f} GFLOP/s over the model's linear layers ({} rows per GEMM)\n", choice.f32_gflops, rows);
  if (bf16_candidate)
    report += fmt::format("  bf16: {:.1f} GFLOP/s, casts included ({:.2f}x fp32)\n", choice.bf16_gflops,
                          choice.bf16_gflops / choice.f32_gflops);
  else
    report += "  bf16: not a candidate (no bf16 GEMM on this CPU: bf16 products are computed in the f32 GEMM)\n";
  report += "  fp16: not a candidate (computed by conversion on CPUs: never faster, and needs loss scaling)\n";
  report += "  tf32: not a candidate (a CPU emulation for numeric parity, slower by construction)\n";

  const bool bf16_wins = bf16_candidate && choice.bf16_gflops >= kRequiredSpeedup * choice.f32_gflops;
  choice.policy = ops::default_policy(bf16_wins ? ops::ComputePrecision::bf16 : ops::ComputePrecision::f32);
  report += bf16_wins ? fmt::format("decision: bf16 compute and bf16 saved activations — {:.2f}x faster than fp32, "
                                    "with fp32's exponent range (no loss scaling needed)\n",
                                    choice.bf16_gflops / choice.f32_gflops)
                      : fmt::format("decision: fp32 — bf16 is not at least {:.2f}x faster here\n", kRequiredSpeedup);
}

}  // namespace

void check_precision_mode(std::string_view mode) {
  SIEVE_USER_CHECK(mode == "fp32" || mode == "bf16" || mode == "fp16" || mode == "tf32" || mode == "auto",
                   "--precision: unknown mode '{}' (expected fp32, bf16, fp16, tf32 or auto)", mode);
}

PrecisionChoice choose_precision(std::string_view mode, const nn::LlamaConfig& config, std::int64_t tokens,
                                 const PrecisionChoiceOptions& options) {
  check_precision_mode(mode);
  PrecisionChoice choice;
  choice.mode = std::string(mode);
  if (mode == "auto") {
    SIEVE_USER_CHECK(tokens > 0, "--precision auto: the micro-batch must have at least one token, got {}", tokens);
    choose_automatically(config, tokens, options, choice);
    return choice;
  }
  const ops::ComputePrecision compute = ops::parse_compute_precision(mode);
  choice.policy = ops::default_policy(compute);
  choice.loss_scaling = compute == ops::ComputePrecision::f16;
  const core::CpuFeatures& cpu = core::cpu_features();
  switch (compute) {
    case ops::ComputePrecision::f32: choice.report = "precision: fp32\n"; break;
    case ops::ComputePrecision::bf16:
      choice.report = !kernels::cpu::matmul_bf16_is_native()
                          ? "precision: bf16 (no bf16 GEMM on this CPU: bf16 operands widened to f32 for the f32 "
                            "GEMM — the same products and f32 accumulation, slower than fp32)\n"
                      : cpu.avx512_bf16 ? "precision: bf16 (oneDNN bf16 GEMM on AVX512-BF16, f32 accumulation)\n"
                                        : "precision: bf16 (oneDNN bf16 GEMM without AVX512-BF16: converted in software)\n";
      break;
    case ops::ComputePrecision::f16:
      choice.report = "precision: fp16 (operands rounded to binary16, f32 GEMM — conversion, not AVX512-FP16), "
                      "dynamic loss scaling on\n";
      break;
    case ops::ComputePrecision::tf32:
      choice.report = "precision: tf32 (operands rounded to a 10-bit mantissa, f32 GEMM — a CPU emulation)\n";
      break;
  }
  return choice;
}

}  // namespace sieve::train
