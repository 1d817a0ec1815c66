#include "apps/dashboard/advisor/machine_profile.h"

#include <sched.h>

#include <fstream>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_limits.h"
#include "sieve/kernels/cpu/matmul.h"
#include "sieve/nn/models/presets.h"
#include "sieve/train/precision_choice.h"

namespace sieve::dashboard {
namespace {

constexpr const char* kReferencePreset = "demo";
constexpr std::int64_t kReferenceTokens = 1024;  // the most rows the auto measurement times

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return CPU_COUNT(&set);
}

// cgroup v2's limit on this process's memory, in bytes (0: none or not readable).
std::uint64_t cgroup_memory_limit() {
  std::ifstream in("/sys/fs/cgroup/memory.max");
  std::uint64_t bytes = 0;
  if (!(in >> bytes)) return 0;  // "max", or no cgroup v2
  return bytes;
}

double memory_mb() {
  std::uint64_t bytes = io::physical_memory_bytes();
  const std::uint64_t limit = cgroup_memory_limit();
  if (limit > 0 && (bytes == 0 || limit < bytes)) bytes = limit;
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

}  // namespace

MachineProfile measure_machine(const nn::LlamaConfig& config, std::int64_t tokens) {
  MachineProfile machine;
  machine.cores = available_cores();
  machine.memory_mb = memory_mb();
  machine.isa = core::cpu_features().kernel_isa();
  machine.bf16_native = kernels::cpu::matmul_bf16_is_native();
  const train::PrecisionChoice choice = train::choose_precision("auto", config, tokens);
  machine.gemm_gflops_fp32 = choice.f32_gflops;
  machine.gemm_gflops_bf16 = choice.bf16_gflops;
  return machine;
}

MachineProfile measure_machine() { return measure_machine(nn::preset_config(kReferencePreset), kReferenceTokens); }

MachineProfile measure_machine_for_run(const nlohmann::json& config, const nlohmann::json& start) {
  const auto tokens = start.is_object() && start.value("batch", nlohmann::json()).is_number_integer() &&
                              start.value("context", nlohmann::json()).is_number_integer()
                          ? start["batch"].get<std::int64_t>() * start["context"].get<std::int64_t>()
                          : kReferenceTokens;
  if (!config.is_object() || tokens <= 0) return measure_machine();
  try {
    const nn::LlamaConfig model = io::parse_llama_config(config, "config.json");
    io::check_model_fits(model, "config.json");  // the timing allocates the model's largest layers
    return measure_machine(model, tokens);
  } catch (const std::exception&) {
    return measure_machine();  // not a language-model config (a trimodal run, say) or a malformed one
  }
}

nlohmann::json to_json(const MachineProfile& machine) {
  return {{"cores", machine.cores},
          {"memory_mb", machine.memory_mb},
          {"isa", machine.isa},
          {"gemm_gflops", {{"fp32", machine.gemm_gflops_fp32}, {"bf16", machine.gemm_gflops_bf16}}},
          {"bf16_native", machine.bf16_native}};
}

MachineProfile machine_profile_from_json(const nlohmann::json& json, std::string_view source) {
  const auto field = [&](const nlohmann::json& object, const char* name, bool (nlohmann::json::*is)() const,
                         const char* expected) -> const nlohmann::json& {
    SIEVE_USER_CHECK(object.is_object() && object.contains(name) && (object[name].*is)(),
                     "{}: machine profile needs \"{}\" ({})", source, name, expected);
    return object[name];
  };
  MachineProfile machine;
  machine.cores = field(json, "cores", &nlohmann::json::is_number_integer, "an integer").get<int>();
  machine.memory_mb = field(json, "memory_mb", &nlohmann::json::is_number, "a number").get<double>();
  machine.isa = field(json, "isa", &nlohmann::json::is_string, "a string").get<std::string>();
  const nlohmann::json& gemm = field(json, "gemm_gflops", &nlohmann::json::is_object, "an object");
  machine.gemm_gflops_fp32 = field(gemm, "fp32", &nlohmann::json::is_number, "a number").get<double>();
  machine.gemm_gflops_bf16 = field(gemm, "bf16", &nlohmann::json::is_number, "a number").get<double>();
  machine.bf16_native = field(json, "bf16_native", &nlohmann::json::is_boolean, "true or false").get<bool>();
  return machine;
}

}  // namespace sieve::dashboard
