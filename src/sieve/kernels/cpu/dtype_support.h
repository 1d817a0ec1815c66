// Kernels take the dtype of their activation tensors as their first argument and switch on it;
// a dtype without an implementation yet (bf16/f16 come later) ends in this error, which names
// the kernel and the dtype so the caller knows exactly what is missing.
#pragma once

#include "sieve/core/dtype.h"
#include "sieve/core/error.h"

namespace sieve::kernels::cpu {

[[noreturn]] inline void throw_unsupported_dtype(const char* kernel, core::DType dtype) {
  core::throw_check_failure(__FILE__, __LINE__, "dtype supported",
                            fmt::format("{}: dtype {} is not supported yet (implemented: f32)", kernel,
                                        core::dtype_name(dtype)));
}

}  // namespace sieve::kernels::cpu
