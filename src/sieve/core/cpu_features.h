// What the CPU we run on can do, detected once at run time. Kernels pick their
// instruction set from this; nothing is baked in at compile time.
#pragma once

#include <string>

namespace sieve::core {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
  bool avx512_fp16 = false;
  bool amx_tile = false;

  // AVX-512 as our kernels use it (F + BW + VL + DQ + FMA).
  bool has_avx512() const { return avx512f && avx512bw && avx512vl && avx512dq && fma; }
  bool has_avx2() const { return avx2 && fma && f16c; }
  // The instruction set Sieve's own kernels run on: "avx512", "avx2" or "scalar".
  const char* kernel_isa() const { return has_avx512() ? "avx512" : has_avx2() ? "avx2" : "scalar"; }
  std::string describe() const;
};

// Detected once; SIEVE_ISA=avx2|scalar in the environment caps it (for testing fallbacks).
const CpuFeatures& cpu_features();

}  // namespace sieve::core
