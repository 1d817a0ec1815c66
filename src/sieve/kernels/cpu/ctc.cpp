// CTC forward-backward in log space. Letters: B batch, T frames, V classes, U labels,
// L = 2·U + 1 extended states (blank, l1, blank, l2, …, blank), Ti = input_lengths[b].
//
//   α_t(s) = log P(prefix of the extended target ending in state s at frame t), emission at t
//            included:  α_t(s) = lse(α_{t−1}(s), α_{t−1}(s−1), α_{t−1}(s−2) if s is a label
//            different from label s−2) + lp_t(l'_s)
//   β_t(s) = the same from the end:  β_t(s) = lse(β_{t+1}(s), β_{t+1}(s+1), β_{t+1}(s+2) if
//            allowed) + lp_t(l'_s)
//   log P = lse(α_{Ti−1}(L−1), α_{Ti−1}(L−2));  occupancy γ_t(k) = Σ_{s: l'_s = k}
//            exp(α_t(s) + β_t(s) − lp_t(k) − log P)
//   d(−log P)/d logits_t(k) = softmax_t(k) − γ_t(k)   (lp = log_softmax(logits))
// α, β and the sums are double: T·L is small (a spoken phrase: ~100 frames × ~60 states).
#include "sieve/kernels/cpu/ctc.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "sieve/core/parallel.h"

namespace sieve::kernels::cpu {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

double log_add(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  const double hi = std::max(a, b);
  return hi + std::log1p(std::exp(std::min(a, b) - hi));
}

void one_sequence(const CtcShape& shape, const float* logits, const std::int64_t* target, std::int64_t frames,
                  std::int64_t labels, double* loss, float* grad) {
  const std::int64_t V = shape.classes, L = 2 * labels + 1;
  std::memset(grad, 0, sizeof(float) * static_cast<std::size_t>(shape.frames * V));
  // lp [Ti, V]: log-softmax of each frame.
  std::vector<double> lp(static_cast<std::size_t>(frames * V));
  for (std::int64_t t = 0; t < frames; ++t) {
    const float* z = logits + t * V;
    const double mx = *std::max_element(z, z + V);
    double sum = 0.0;
    for (std::int64_t k = 0; k < V; ++k) sum += std::exp(z[k] - mx);
    const double lse = mx + std::log(sum);
    for (std::int64_t k = 0; k < V; ++k) lp[t * V + k] = z[k] - lse;
  }
  auto label = [&](std::int64_t s) { return s % 2 == 0 ? shape.blank : target[s / 2]; };
  // State s may also be entered from s − 2 (skipping a blank) when it is a label that differs
  // from the label two states back.
  auto can_skip = [&](std::int64_t s) { return s >= 2 && s % 2 == 1 && label(s) != label(s - 2); };

  std::vector<double> alpha(static_cast<std::size_t>(frames * L), kNegInf);  // [Ti, L]
  std::vector<double> beta(static_cast<std::size_t>(frames * L), kNegInf);   // [Ti, L]
  alpha[0] = lp[shape.blank];
  if (L > 1) alpha[1] = lp[label(1)];
  for (std::int64_t t = 1; t < frames; ++t) {
    for (std::int64_t s = 0; s < L; ++s) {
      double a = alpha[(t - 1) * L + s];
      if (s >= 1) a = log_add(a, alpha[(t - 1) * L + s - 1]);
      if (can_skip(s)) a = log_add(a, alpha[(t - 1) * L + s - 2]);
      alpha[t * L + s] = a == kNegInf ? kNegInf : a + lp[t * V + label(s)];
    }
  }
  const std::int64_t last = (frames - 1) * L;
  const double log_p = L > 1 ? log_add(alpha[last + L - 1], alpha[last + L - 2]) : alpha[last];
  if (log_p == kNegInf) {  // no alignment fits: zero_infinity
    *loss = 0.0;
    return;
  }
  *loss = -log_p;

  beta[last + L - 1] = lp[(frames - 1) * V + label(L - 1)];
  if (L > 1) beta[last + L - 2] = lp[(frames - 1) * V + label(L - 2)];
  for (std::int64_t t = frames - 2; t >= 0; --t) {
    for (std::int64_t s = 0; s < L; ++s) {
      double b = beta[(t + 1) * L + s];
      if (s + 1 < L) b = log_add(b, beta[(t + 1) * L + s + 1]);
      if (s + 2 < L && can_skip(s + 2)) b = log_add(b, beta[(t + 1) * L + s + 2]);
      beta[t * L + s] = b == kNegInf ? kNegInf : b + lp[t * V + label(s)];
    }
  }

  std::vector<double> occupancy(static_cast<std::size_t>(V));
  for (std::int64_t t = 0; t < frames; ++t) {
    std::fill(occupancy.begin(), occupancy.end(), 0.0);
    for (std::int64_t s = 0; s < L; ++s) {
      const double a = alpha[t * L + s], b = beta[t * L + s];
      if (a == kNegInf || b == kNegInf) continue;
      const std::int64_t k = label(s);
      occupancy[k] += std::exp(a + b - lp[t * V + k] - log_p);
    }
    for (std::int64_t k = 0; k < V; ++k) grad[t * V + k] = static_cast<float>(std::exp(lp[t * V + k]) - occupancy[k]);
  }
}

}  // namespace

void ctc_loss_forward_backward(const CtcShape& shape, const float* logits, const std::int64_t* targets,
                               const std::int64_t* input_lengths, const std::int64_t* target_lengths, double* losses,
                               float* grad) {
  const std::int64_t per_sequence = shape.frames * shape.classes;
  core::parallel_for(shape.batch, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) {
      one_sequence(shape, logits + b * per_sequence, targets + b * shape.max_target, input_lengths[b],
                   target_lengths[b], losses + b, grad + b * per_sequence);
    }
  });
}

}  // namespace sieve::kernels::cpu
