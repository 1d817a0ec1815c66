// Letters as in sparse_attention.h.
#include "sieve/kernels/cpu/sparse_decode_index.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sieve/core/error.h"

namespace sieve::kernels::cpu {

std::int64_t global_budget(float keep_ratio, std::int64_t candidates) {
  if (candidates <= 0) return 0;
  // ρ's float error is below 2^-24 relative; shaving 1e-6 relative keeps an exact product
  // (0.1f · 10 = 1.0000000149) from rounding up a whole token.
  const double exact = static_cast<double>(keep_ratio) * static_cast<double>(candidates);
  const auto kept = static_cast<std::int64_t>(std::ceil(exact * (1.0 - 1e-6)));
  return std::clamp<std::int64_t>(kept, 0, candidates);
}

bool global_admits(const GlobalSelection& selection, float score) {
  if (std::isnan(score)) return false;
  if (selection.keep_ratio > 0.0f) return true;
  const float sigma = 1.0f / (1.0f + std::exp(-score));
  return sigma >= selection.threshold;
}

GlobalTopK::GlobalTopK(const GlobalSelection& selection, std::int64_t cap) : selection_(selection), cap_(cap) {
  SIEVE_CHECK(cap >= 0, "GlobalTopK: cap must be >= 0, got {}", cap);
  heap_.reserve(static_cast<std::size_t>(cap));
}

void GlobalTopK::push(std::int32_t position, float score) {
  if (cap_ == 0 || !global_admits(selection_, score)) return;
  // "better" as the heap's less-than puts the worst entry on top.
  const auto better = [](const Entry& a, const Entry& b) { return worse(b, a); };
  const Entry entry{score, position};
  if (static_cast<std::int64_t>(heap_.size()) < cap_) {
    heap_.push_back(entry);
    std::push_heap(heap_.begin(), heap_.end(), better);
  } else if (worse(heap_.front(), entry)) {
    std::pop_heap(heap_.begin(), heap_.end(), better);
    heap_.back() = entry;
    std::push_heap(heap_.begin(), heap_.end(), better);
  }
}

void GlobalTopK::list(std::int64_t candidates, std::vector<std::int32_t>& out) {
  out.clear();
  auto keep = static_cast<std::int64_t>(heap_.size());
  if (selection_.keep_ratio > 0.0f) keep = std::min(keep, global_budget(selection_.keep_ratio, candidates));
  if (keep == 0) return;
  if (keep < static_cast<std::int64_t>(heap_.size())) {
    scratch_.assign(heap_.begin(), heap_.end());
    const auto better = [](const Entry& a, const Entry& b) { return worse(b, a); };
    std::nth_element(scratch_.begin(), scratch_.begin() + keep, scratch_.end(), better);
    for (std::int64_t x = 0; x < keep; ++x) out.push_back(scratch_[static_cast<std::size_t>(x)].position);
  } else {
    for (const Entry& e : heap_) out.push_back(e.position);
  }
  std::sort(out.begin(), out.end());
}

SparseDecodeIndex::SparseDecodeIndex(const SparseAttentionShape& shape, const GlobalSelection& selection)
    : window_(shape.window),
      rounds_(shape.rounds),
      kv_heads_(shape.kv_heads),
      buckets_(shape.buckets),
      top_(selection, shape.global_cap) {
  SIEVE_CHECK(shape.window >= kSparseQueryBlock, "SparseDecodeIndex: window must be >= {}, got {}", kSparseQueryBlock,
              shape.window);
  SIEVE_CHECK(shape.rounds >= 0, "SparseDecodeIndex: rounds must be >= 0, got {}", shape.rounds);
  SIEVE_CHECK(selection.threshold >= 0.0f && selection.threshold <= 1.0f,
              "SparseDecodeIndex: threshold must be in [0, 1], got {}", selection.threshold);
  SIEVE_CHECK(selection.keep_ratio >= 0.0f && selection.keep_ratio <= 1.0f,
              "SparseDecodeIndex: keep_ratio must be in [0, 1], got {}", selection.keep_ratio);
  if (rounds_ > 0) {
    SIEVE_CHECK(kv_heads_ >= 1, "SparseDecodeIndex: kv_heads must be >= 1, got {}", kv_heads_);
    SIEVE_CHECK(buckets_ >= 2 && buckets_ % 2 == 0, "SparseDecodeIndex: buckets must be even and >= 2, got {}",
                buckets_);
    buckets_keys_.resize(static_cast<std::size_t>(rounds_ * kv_heads_ * buckets_));
  }
}

void SparseDecodeIndex::append(float score, const std::int32_t* key_buckets) {
  SIEVE_CHECK(size() < std::numeric_limits<std::int32_t>::max(), "SparseDecodeIndex: more than 2^31 - 1 tokens");
  const auto position = static_cast<std::int32_t>(size());
  if (rounds_ > 0) {
    SIEVE_CHECK(key_buckets != nullptr, "SparseDecodeIndex::append: key_buckets is null with {} rounds", rounds_);
    // All checked before any is stored, so a rejected token leaves the index unchanged.
    for (std::int64_t rg = 0; rg < rounds_ * kv_heads_; ++rg)
      SIEVE_CHECK(key_buckets[rg] >= 0 && key_buckets[rg] < buckets_,
                  "SparseDecodeIndex::append: bucket {} out of [0, {})", key_buckets[rg], buckets_);
    for (std::int64_t rg = 0; rg < rounds_ * kv_heads_; ++rg)
      buckets_keys_[static_cast<std::size_t>(rg * buckets_ + key_buckets[rg])].push_back(position);
  }
  scores_.push_back(score);
}

std::span<const std::int32_t> SparseDecodeIndex::global_keys(std::int64_t position) {
  SIEVE_CHECK(position >= 0 && position <= size(), "SparseDecodeIndex::global_keys: position {} with {} tokens",
              position, size());
  const std::int64_t block = position / kSparseQueryBlock;
  SIEVE_CHECK(block >= block_, "SparseDecodeIndex::global_keys: block {} after block {} (must not go back)", block,
              block_);
  if (block != block_) {
    // horizon <= position − 1 < size() because W >= Q: every candidate has been appended.
    const std::int64_t horizon = global_horizon(block, window_);
    for (; consumed_ <= horizon; ++consumed_)
      top_.push(static_cast<std::int32_t>(consumed_), scores_[static_cast<std::size_t>(consumed_)]);
    if (horizon >= 0)
      top_.list(horizon + 1, list_);
    else
      list_.clear();
    block_ = block;
  }
  return list_;
}

std::span<const std::int32_t> SparseDecodeIndex::bucket_keys(std::int64_t round, std::int64_t kv_head,
                                                             std::int64_t bucket, std::int64_t position) const {
  SIEVE_CHECK(round >= 0 && round < rounds_ && kv_head >= 0 && kv_head < kv_heads_ && bucket >= 0 &&
                  bucket < buckets_,
              "SparseDecodeIndex::bucket_keys: (round {}, kv head {}, bucket {}) out of [{}, {}, {}]", round, kv_head,
              bucket, rounds_, kv_heads_, buckets_);
  const auto& keys = buckets_keys_[static_cast<std::size_t>((round * kv_heads_ + kv_head) * buckets_ + bucket)];
  const std::int64_t limit = position - window_;
  const auto end = std::upper_bound(keys.begin(), keys.end(), limit,
                                    [](std::int64_t value, std::int32_t key) { return value < key; });
  return {keys.data(), static_cast<std::size_t>(end - keys.begin())};
}

}  // namespace sieve::kernels::cpu
