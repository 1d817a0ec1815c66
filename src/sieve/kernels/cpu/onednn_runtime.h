// What every oneDNN call in the CPU kernels shares: one engine, a stream per thread, and a
// per-thread scratchpad. Internal to kernels/cpu (it names oneDNN; the public headers don't).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstddef>

namespace sieve::kernels::cpu {

const dnnl::engine& cpu_engine();

// One stream per thread: a CPU stream is cheap, and this avoids relying on a shared stream
// object being safe to use from several threads at once.
dnnl::stream& thread_stream();

// Scratchpad is user-managed so that concurrent calls never share one: each thread keeps a
// grow-only buffer, and this returns `bytes` of it aligned for oneDNN's vector loads.
void* thread_scratchpad(std::size_t bytes);

}  // namespace sieve::kernels::cpu
