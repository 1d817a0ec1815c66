// Shared by the advisor tests: the fixture runs (tests/fixtures/dashboard_runs, made by
// scripts/make_dashboard_fixtures.py) and two machine profiles at either end of what Sieve runs
// on, so that what fires does not depend on the machine running the tests.
#pragma once

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/dashboard/advisor/advisor.h"
#include "apps/dashboard/advisor/run_inputs.h"

namespace sieve::dashboard::testing {

inline std::filesystem::path fixture_run(const std::string& name) {
  return std::filesystem::path(SIEVE_FIXTURE_DIR) / "dashboard_runs" / name;
}

inline nlohmann::json read_json(const std::filesystem::path& file) {
  std::ifstream in(file);
  return nlohmann::json::parse(in);
}

inline RunInputs load_fixture(const std::string& name) { return read_run_inputs(fixture_run(name)); }

// 2 cores of an AVX2-only CPU: no bf16 GEMM, modest fp32 speed.
inline MachineProfile slow_avx2_machine() {
  return {.cores = 2, .memory_mb = 8192.0, .isa = "avx2", .gemm_gflops_fp32 = 60.0, .gemm_gflops_bf16 = 0.0,
          .bf16_native = false};
}

// 16 cores with AVX-512 and AMX: fast fp32, faster bf16.
inline MachineProfile fast_avx512_machine() {
  return {.cores = 16, .memory_mb = 131072.0, .isa = "avx512", .gemm_gflops_fp32 = 2000.0,
          .gemm_gflops_bf16 = 6000.0, .bf16_native = true};
}

inline std::set<std::string> rules_of(const std::vector<Suggestion>& suggestions) {
  std::set<std::string> rules;
  for (const Suggestion& suggestion : suggestions) rules.insert(suggestion.rule);
  return rules;
}

}  // namespace sieve::dashboard::testing
