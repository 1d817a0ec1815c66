#include "sieve/kernels/cpu/onednn_runtime.h"

#include <cstdint>
#include <vector>

namespace sieve::kernels::cpu {

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

void* thread_scratchpad(std::size_t bytes) {
  constexpr std::size_t kAlign = 64;
  thread_local std::vector<std::byte> buffer;
  if (buffer.size() < bytes + kAlign) buffer.resize(bytes + kAlign);
  const auto address = reinterpret_cast<std::uintptr_t>(buffer.data());
  return buffer.data() + ((kAlign - address % kAlign) % kAlign);
}

}  // namespace sieve::kernels::cpu
