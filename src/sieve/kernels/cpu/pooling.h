// Pooling over tokens on the CPU. Letters: B batch, T tokens, C channels.
#pragma once

#include <cstdint>

namespace sieve::kernels::cpu {

// out [B, C] = mean of x [B, T, C] over the tokens t < lengths[b] (each length in [1, T]; checked
// by the caller). f32, contiguous. Summed in f32 token by token (vectorised over C).
void masked_mean_forward(std::int64_t batch, std::int64_t tokens, std::int64_t channels, const float* x,
                         const std::int64_t* lengths, float* out);

// dx [B, T, C] = dout[b, :] / lengths[b] for t < lengths[b] and 0 after it; OVERWRITTEN.
void masked_mean_backward(std::int64_t batch, std::int64_t tokens, std::int64_t channels, const float* dout,
                          const std::int64_t* lengths, float* dx);

}  // namespace sieve::kernels::cpu
