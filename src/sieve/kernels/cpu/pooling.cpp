// Masked mean over tokens. Letters: B batch, T tokens, C channels. Memory-bound (one read of
// x, or one write of dx), so plain loops the compiler vectorises over C; parallel over
// (batch, channel block) so a small batch still uses every thread.
#include "sieve/kernels/cpu/pooling.h"

#include <algorithm>
#include <cstring>

#include "sieve/core/parallel.h"

namespace sieve::kernels::cpu {
namespace {

// Channels per work item: 256 floats of running sums stay in registers / L1.
constexpr std::int64_t kChannelBlock = 256;

}  // namespace

void masked_mean_forward(std::int64_t batch, std::int64_t tokens, std::int64_t channels, const float* x,
                         const std::int64_t* lengths, float* out) {
  const std::int64_t blocks = (channels + kChannelBlock - 1) / kChannelBlock;
  core::parallel_for(batch * blocks, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t b = item / blocks, c0 = item % blocks * kChannelBlock;
      const std::int64_t n = std::min(kChannelBlock, channels - c0);
      float* row = out + b * channels + c0;  // [n]
      std::memset(row, 0, sizeof(float) * static_cast<std::size_t>(n));
      for (std::int64_t t = 0; t < lengths[b]; ++t) {
        const float* src = x + (b * tokens + t) * channels + c0;
        for (std::int64_t c = 0; c < n; ++c) row[c] += src[c];
      }
      const float inv = 1.0f / static_cast<float>(lengths[b]);
      for (std::int64_t c = 0; c < n; ++c) row[c] *= inv;
    }
  });
}

void masked_mean_backward(std::int64_t batch, std::int64_t tokens, std::int64_t channels, const float* dout,
                          const std::int64_t* lengths, float* dx) {
  core::parallel_for(batch * tokens, 16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) {
      const std::int64_t b = row / tokens, t = row % tokens;
      float* dst = dx + row * channels;  // [C]
      if (t >= lengths[b]) {
        std::memset(dst, 0, sizeof(float) * static_cast<std::size_t>(channels));
        continue;
      }
      const float inv = 1.0f / static_cast<float>(lengths[b]);
      const float* src = dout + b * channels;
      for (std::int64_t c = 0; c < channels; ++c) dst[c] = src[c] * inv;
    }
  });
}

}  // namespace sieve::kernels::cpu
