// A caching allocator for tensor storage. Training allocates the same activation sizes every
// step; keeping freed blocks in per-size free lists turns those mallocs (and the page faults
// of fresh memory) into list pops. Blocks are 64-byte aligned for AVX-512 loads.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sieve::core {

struct AllocatorStats {
  std::size_t allocated_bytes = 0;       // handed out and not yet returned
  std::size_t peak_allocated_bytes = 0;  // high-water mark of allocated_bytes
  std::size_t cached_bytes = 0;          // returned and kept for reuse
  std::uint64_t allocations = 0;         // calls to allocate
  std::uint64_t cache_hits = 0;          // of which served from the cache
};

class CachingAllocator {
 public:
  // Returns a block of at least `bytes` (rounded up to a size class), 64-byte aligned.
  void* allocate(std::size_t bytes);
  // `bytes` must be the size passed to allocate.
  void release(void* block, std::size_t bytes);
  // Frees every cached block back to the system.
  void empty_cache();
  AllocatorStats stats() const;
  void reset_peak();
};

CachingAllocator& allocator();

}  // namespace sieve::core
