#include "sieve/core/parallel.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>

namespace sieve::core {
namespace {

int initial_threads() {
  for (const char* name : {"SIEVE_NUM_THREADS", "OMP_NUM_THREADS"}) {
    if (const char* value = std::getenv(name)) {
      const int n = std::atoi(value);
      if (n > 0) return n;
    }
  }
  return omp_get_num_procs();
}

int& thread_count() {
  static int count = [] {
    const int n = initial_threads();
    omp_set_num_threads(n);
    return n;
  }();
  return count;
}

}  // namespace

int num_threads() { return thread_count(); }

void set_num_threads(int threads) {
  thread_count() = std::max(1, threads);
  omp_set_num_threads(thread_count());
}

void parallel_for(std::int64_t count, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& body) {
  if (count <= 0) return;
  grain = std::max<std::int64_t>(1, grain);
  const int threads = static_cast<int>(std::min<std::int64_t>(num_threads(), (count + grain - 1) / grain));
  if (threads <= 1 || omp_in_parallel()) {
    body(0, count);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const std::int64_t t = omp_get_thread_num();
    const std::int64_t n = omp_get_num_threads();
    const std::int64_t begin = count * t / n;
    const std::int64_t end = count * (t + 1) / n;
    if (begin < end) body(begin, end);
  }
}

}  // namespace sieve::core
