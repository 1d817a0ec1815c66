// The distillation divergence between a teacher's and a student's next-token distributions at a
// temperature, forward and backward (Hinton et al., "Distilling the Knowledge in a Neural
// Network"):
//   KL = mean_r Σ_v p_t[r,v] · (log p_t[r,v] − log p_s[r,v]),  p_· = softmax(logits / T)
//
// Shapes: N = rows (e.g. B*T), V = vocab.
//   student, teacher, dstudent : [N, V] f32, contiguous row-major
//   student_lse, teacher_lse   : [N] f32, logsumexp of each row of logits / T, saved by the
//                                forward for the backward
// Each row's divergence is summed as Σ p_t · ((z_t − z_s) − (lse_t − lse_s)) with z = logits / T,
// so equal distributions give 0 up to rounding rather than a difference of two large sums; the
// mean is summed in double, in row order, so it does not depend on the thread count.
#pragma once

#include <cstdint>

namespace sieve::kernels::cpu {

// Returns the mean KL over the N rows (NaN when N == 0) and fills both logsumexp arrays.
// temperature must be > 0.
float distillation_kl_forward(std::int64_t N, std::int64_t V, const float* student, const float* teacher,
                              float temperature, float* student_lse, float* teacher_lse);

// dstudent[r] = dloss / (N · T) · (p_s[r] − p_t[r]), the gradient of dloss · KL with respect to
// the student's logits (the teacher gets none). The lse arrays come from the forward; dstudent
// may alias student.
void distillation_kl_backward(std::int64_t N, std::int64_t V, const float* student, const float* teacher,
                              float temperature, const float* student_lse, const float* teacher_lse, float dloss,
                              float* dstudent);

}  // namespace sieve::kernels::cpu
