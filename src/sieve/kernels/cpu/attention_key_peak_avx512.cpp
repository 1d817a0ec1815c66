// Key peak (attention_key_peak.h), AVX-512 build of attention_key_peak_impl.h: the same plain
// loops, vectorised 16 lanes wide by the compiler.
#define SIEVE_KEY_PEAK_ISA key_peak_avx512
#include "sieve/kernels/cpu/attention_key_peak_impl.h"
#undef SIEVE_KEY_PEAK_ISA
