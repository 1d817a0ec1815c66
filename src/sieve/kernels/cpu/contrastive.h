// The parts of a contrastive (InfoNCE) loss that are not GEMMs: row L2 normalisation and the
// symmetric cross-entropy of an N x N logit matrix whose diagonal holds the matching pairs.
// Letters: N rows (pairs), C features. All f32, contiguous.
#pragma once

#include <cstdint>

namespace sieve::kernels::cpu {

// y [N, C] = x / max(|x_row|, 1e-12) and inv_norm [N] = 1 / max(|x_row|, 1e-12) (F.normalize).
void l2_normalize_rows(std::int64_t rows, std::int64_t cols, const float* x, float* y, float* inv_norm);

// dx [N, C] = (dy − y·(y·dy)) · inv_norm row by row: the gradient through l2_normalize_rows
// (for rows longer than 1e-12), from its outputs y and inv_norm. Overwritten.
void l2_normalize_rows_backward(std::int64_t rows, std::int64_t cols, const float* y, const float* inv_norm,
                                const float* dy, float* dx);

// For logits z [N, N], returns
//   L = (1 / 2N) · Σ_i [ (logsumexp_j z[i, j] − z[i, i]) + (logsumexp_j z[j, i] − z[i, i]) ],
// the mean of the row-wise (a → b) and column-wise (b → a) cross-entropies with targets on the
// diagonal, and writes dz [N, N] = dL/dz = (softmax_row(z)[i, j] + softmax_col(z)[i, j] − 2·[i = j]) / 2N.
// Sums in double.
double symmetric_cross_entropy(std::int64_t n, const float* z, float* dz);

}  // namespace sieve::kernels::cpu
