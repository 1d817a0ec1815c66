// Embedding lookup (gather rows of a table by token id), forward and backward.
//
// Shapes: N = number of ids (e.g. B*T), C = channels, V = vocab (table rows).
//   table  : [V, C] of `dtype`;  ids : [N] int64 in [0, V);  out, dout : [N, C] of `dtype`
//   dtable : [V, C] f32 (gradients are kept in f32 whatever the activation dtype)
// All contiguous row-major. Only f32 is implemented; other dtypes throw core::Error naming the
// dtype. An id outside [0, V) throws core::Error naming the id, its position and V; ids are
// checked before anything is written.
#pragma once

#include <cstdint>

#include "sieve/core/dtype.h"

namespace sieve::kernels::cpu {

// out[n] = table[ids[n]].
void embedding_forward(core::DType dtype, std::int64_t N, std::int64_t C, std::int64_t V, const void* table,
                       const std::int64_t* ids, void* out);

// dtable[ids[n]] += dout[n] for every n (repeated ids accumulate). Threads own disjoint
// channel ranges of dtable, so there are no races, and each element sums its rows in order n =
// 0, 1, ..., so the result does not depend on the thread count.
void embedding_backward(core::DType dtype, std::int64_t N, std::int64_t C, std::int64_t V,
                        const std::int64_t* ids, const void* dout, float* dtable);

}  // namespace sieve::kernels::cpu
