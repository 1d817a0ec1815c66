// Thread-parallel loops over OpenMP. Kernels call these instead of writing pragmas so the
// thread count is set in one place (SIEVE_NUM_THREADS, else OMP_NUM_THREADS, else all cores).
#pragma once

#include <cstdint>
#include <functional>

namespace sieve::core {

int num_threads();
void set_num_threads(int threads);

// Calls body(begin, end) on disjoint chunks covering [0, count), in parallel. Chunks are at
// least `grain` long; a small range runs inline on the calling thread.
void parallel_for(std::int64_t count, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& body);

}  // namespace sieve::core
