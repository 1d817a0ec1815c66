// Key mass (attention_key_mass.h), AVX2 build of attention_key_mass_impl.h: the same plain loops,
// vectorised 8 lanes wide by the compiler under -mavx2 -mfma.
#define SIEVE_KEY_MASS_ISA key_mass_avx2
#include "sieve/kernels/cpu/attention_key_mass_impl.h"
#undef SIEVE_KEY_MASS_ISA
