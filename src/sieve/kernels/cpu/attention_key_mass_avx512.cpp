// Key mass (attention_key_mass.h), AVX-512 build of attention_key_mass_impl.h: the same plain
// loops, vectorised 16 lanes wide by the compiler.
#define SIEVE_KEY_MASS_ISA key_mass_avx512
#include "sieve/kernels/cpu/attention_key_mass_impl.h"
#undef SIEVE_KEY_MASS_ISA
