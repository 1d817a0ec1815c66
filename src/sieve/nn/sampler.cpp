#include "sieve/nn/sampler.h"

#include <algorithm>
#include <cmath>

#include "sieve/core/error.h"

namespace sieve::nn {

void validate(const SamplingOptions& options) {
  SIEVE_USER_CHECK(std::isfinite(options.temperature) && options.temperature >= 0.0f,
                   "--temperature must be >= 0, got {}", options.temperature);
  SIEVE_USER_CHECK(options.top_k >= 0, "--top-k must be >= 0, got {}", options.top_k);
  SIEVE_USER_CHECK(options.top_p > 0.0f && options.top_p <= 1.0f, "--top-p must be in (0, 1], got {}",
                   options.top_p);
}

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) { validate(options); }

std::int64_t Sampler::sample(std::span<const float> logits) {
  SIEVE_CHECK(!logits.empty(), "sampling from empty logits");
  if (options_.temperature == 0.0f)
    return std::max_element(logits.begin(), logits.end()) - logits.begin();

  candidates_.clear();
  for (std::size_t i = 0; i < logits.size(); ++i)
    candidates_.emplace_back(logits[i] / options_.temperature, static_cast<std::int64_t>(i));
  auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first; };
  std::size_t keep = candidates_.size();
  if (options_.top_k > 0 && static_cast<std::size_t>(options_.top_k) < keep) {
    keep = static_cast<std::size_t>(options_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(keep), candidates_.end(),
                      by_logit);
  } else if (options_.top_p < 1.0f) {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }
  candidates_.resize(keep);

  // Softmax over the survivors (max-subtracted), then the top-p cut on the sorted prefix.
  const float max_logit = std::max_element(candidates_.begin(), candidates_.end(), [](auto& a, auto& b) {
                            return a.first < b.first;
                          })->first;
  double total = 0.0;
  for (auto& [value, id] : candidates_) {
    value = std::exp(value - max_logit);
    total += value;
  }
  if (options_.top_p < 1.0f) {
    double cumulative = 0.0;
    std::size_t cut = 0;
    while (cut < candidates_.size()) {
      cumulative += candidates_[cut].first / total;
      ++cut;
      if (cumulative >= options_.top_p) break;
    }
    candidates_.resize(cut);
    total = 0.0;
    for (auto& [value, id] : candidates_) total += value;
  }
  double draw = rng_.uniform() * total;
  for (const auto& [value, id] : candidates_) {
    draw -= value;
    if (draw <= 0.0) return id;
  }
  return candidates_.back().second;
}

}  // namespace sieve::nn
