#include "sieve/core/allocator.h"

#include <sys/mman.h>

#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace sieve::core {
namespace {

constexpr std::size_t kAlignment = 64;
// Blocks above this are cached too, but rounded to 1 MiB so the classes stay few.
constexpr std::size_t kLargeRound = std::size_t{1} << 20;
// Blocks of at least this size are 2 MiB aligned and multiples of 2 MiB, and asked to be backed
// by transparent huge pages: a KV cache or an activation of hundreds of MiB read at scattered
// rows would otherwise miss the TLB on nearly every row (sparse decoding at 64k tokens spent
// most of a step in page walks).
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kHugeThreshold = std::size_t{8} << 20;
// Keep at most this much idle memory cached; beyond it, returned blocks go to the system.
constexpr std::size_t kMaxCachedBytes = std::size_t{4} << 30;

// Size classes: powers of two up to 1 MiB, 1 MiB multiples above, so a re-allocation of
// the same or a slightly smaller tensor finds the block again.
std::size_t size_class(std::size_t bytes) {
  if (bytes <= kAlignment) return kAlignment;
  if (bytes <= kLargeRound) return std::bit_ceil(bytes);
  const std::size_t round = bytes >= kHugeThreshold ? kHugePage : kLargeRound;
  return (bytes + round - 1) / round * round;
}

void* allocate_from_system(std::size_t cls) {
  if (cls < kHugeThreshold) return std::aligned_alloc(kAlignment, cls);
  void* block = std::aligned_alloc(kHugePage, cls);
  // Advice only: without transparent huge pages the block works the same, with 4 KiB pages.
  if (block != nullptr) ::madvise(block, cls, MADV_HUGEPAGE);
  return block;
}

struct State {
  std::mutex mutex;
  std::unordered_map<std::size_t, std::vector<void*>> free_blocks;
  AllocatorStats stats;
};

State& state() {
  static State* s = new State();  // never destroyed: tensors may outlive static destruction
  return *s;
}

}  // namespace

void* CachingAllocator::allocate(std::size_t bytes) {
  const std::size_t cls = size_class(bytes);
  State& s = state();
  {
    std::lock_guard lock(s.mutex);
    ++s.stats.allocations;
    auto it = s.free_blocks.find(cls);
    if (it != s.free_blocks.end() && !it->second.empty()) {
      void* block = it->second.back();
      it->second.pop_back();
      ++s.stats.cache_hits;
      s.stats.cached_bytes -= cls;
      s.stats.allocated_bytes += cls;
      if (s.stats.allocated_bytes > s.stats.peak_allocated_bytes)
        s.stats.peak_allocated_bytes = s.stats.allocated_bytes;
      return block;
    }
  }
  void* block = allocate_from_system(cls);
  if (block == nullptr) throw std::bad_alloc();
  std::lock_guard lock(s.mutex);
  s.stats.allocated_bytes += cls;
  if (s.stats.allocated_bytes > s.stats.peak_allocated_bytes)
    s.stats.peak_allocated_bytes = s.stats.allocated_bytes;
  return block;
}

void CachingAllocator::release(void* block, std::size_t bytes) {
  if (block == nullptr) return;
  const std::size_t cls = size_class(bytes);
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.stats.allocated_bytes -= cls;
  if (s.stats.cached_bytes + cls > kMaxCachedBytes) {
    std::free(block);
    return;
  }
  s.free_blocks[cls].push_back(block);
  s.stats.cached_bytes += cls;
}

void CachingAllocator::empty_cache() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  for (auto& [cls, blocks] : s.free_blocks)
    for (void* block : blocks) std::free(block);
  s.free_blocks.clear();
  s.stats.cached_bytes = 0;
}

AllocatorStats CachingAllocator::stats() const {
  State& s = state();
  std::lock_guard lock(s.mutex);
  return s.stats;
}

void CachingAllocator::reset_peak() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.stats.peak_allocated_bytes = s.stats.allocated_bytes;
}

CachingAllocator& allocator() {
  static CachingAllocator instance;
  return instance;
}

}  // namespace sieve::core
