// Key peak (attention_key_peak.h), AVX2 build of attention_key_peak_impl.h: the same plain loops,
// vectorised 8 lanes wide by the compiler under -mavx2 -mfma.
#define SIEVE_KEY_PEAK_ISA key_peak_avx2
#include "sieve/kernels/cpu/attention_key_peak_impl.h"
#undef SIEVE_KEY_PEAK_ISA
