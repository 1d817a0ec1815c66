// Row normalisation and the symmetric (two-way) cross-entropy of a contrastive loss.
// Letters: N rows, C features. N x N is a batch's pairs (hundreds to a few thousand), so the
// N² exps cost less than the two N·N·C GEMMs around them; rows are spread over threads.
#include "sieve/kernels/cpu/contrastive.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "sieve/core/parallel.h"

namespace sieve::kernels::cpu {
namespace {

constexpr double kNormFloor = 1e-12;  // F.normalize's eps

}  // namespace

void l2_normalize_rows(std::int64_t rows, std::int64_t cols, const float* x, float* y, float* inv_norm) {
  core::parallel_for(rows, 16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const float* src = x + r * cols;
      double sq = 0.0;
      for (std::int64_t c = 0; c < cols; ++c) sq += double(src[c]) * src[c];
      const float inv = static_cast<float>(1.0 / std::max(std::sqrt(sq), kNormFloor));
      inv_norm[r] = inv;
      for (std::int64_t c = 0; c < cols; ++c) y[r * cols + c] = src[c] * inv;
    }
  });
}

void l2_normalize_rows_backward(std::int64_t rows, std::int64_t cols, const float* y, const float* inv_norm,
                                const float* dy, float* dx) {
  core::parallel_for(rows, 16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const float* yr = y + r * cols;
      const float* dyr = dy + r * cols;
      double dot = 0.0;
      for (std::int64_t c = 0; c < cols; ++c) dot += double(yr[c]) * dyr[c];
      const float d = static_cast<float>(dot);
      for (std::int64_t c = 0; c < cols; ++c) dx[r * cols + c] = (dyr[c] - yr[c] * d) * inv_norm[r];
    }
  });
}

double symmetric_cross_entropy(std::int64_t n, const float* z, float* dz) {
  if (n == 0) return 0.0;
  // Column statistics first (one pass over rows, vectorised across columns): max, then Σ exp.
  std::vector<float> col_max(static_cast<std::size_t>(n), -std::numeric_limits<float>::infinity());
  std::vector<double> col_sum(static_cast<std::size_t>(n), 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) col_max[j] = std::max(col_max[j], z[i * n + j]);
  }
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) col_sum[j] += std::exp(z[i * n + j] - col_max[j]);
  }
  std::vector<double> col_lse(static_cast<std::size_t>(n));  // logsumexp over column j
  for (std::int64_t j = 0; j < n; ++j) col_lse[j] = col_max[j] + std::log(col_sum[j]);

  const double half_mean = 0.5 / static_cast<double>(n);
  std::vector<double> row_loss(static_cast<std::size_t>(n));  // per row i: both terms of pair i
  core::parallel_for(n, 16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const float* zi = z + i * n;
      float* di = dz + i * n;
      const float mx = *std::max_element(zi, zi + n);
      double sum = 0.0;
      for (std::int64_t j = 0; j < n; ++j) sum += std::exp(zi[j] - mx);
      const double row_lse = mx + std::log(sum);
      for (std::int64_t j = 0; j < n; ++j) {
        const double p = std::exp(zi[j] - row_lse) + std::exp(zi[j] - col_lse[j]) - (j == i ? 2.0 : 0.0);
        di[j] = static_cast<float>(p * half_mean);
      }
      row_loss[i] = (row_lse - zi[i]) + (col_lse[i] - zi[i]);
    }
  });
  double total = 0.0;
  for (double x : row_loss) total += x;
  return total / (2.0 * static_cast<double>(n));
}

}  // namespace sieve::kernels::cpu
