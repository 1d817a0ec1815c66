#include "sieve/convert_gguf/gguf_blocks.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "sieve/core/dtype.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"

namespace sieve::convert_gguf {
namespace {

constexpr std::int64_t kBlock = 32;  // QK8_0 = QK4_0

struct BlockQ8_0 {
  std::uint16_t d;
  std::int8_t qs[kBlock];
};
struct BlockQ4_0 {
  std::uint16_t d;
  std::uint8_t qs[kBlock / 2];
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18, "ggml block layouts");

// quantize_row_q8_0_ref.
void quantize_block_q8_0(const float* x, BlockQ8_0& y) {
  float amax = 0.0f;
  for (std::int64_t j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  y.d = core::f32_to_f16_bits(d);
  for (std::int64_t j = 0; j < kBlock; ++j) y.qs[j] = static_cast<std::int8_t>(std::round(x[j] * id));
}

// quantize_row_q4_0_ref: the scale takes the sign of the largest-magnitude value so that value
// lands on nibble 0 (−8), using the asymmetric end of the range.
void quantize_block_q4_0(const float* x, BlockQ4_0& y) {
  float amax = 0.0f, max = 0.0f;
  for (std::int64_t j = 0; j < kBlock; ++j)
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  const float d = max / -8.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  y.d = core::f32_to_f16_bits(d);
  for (std::int64_t j = 0; j < kBlock / 2; ++j) {
    const float x0 = x[j] * id, x1 = x[kBlock / 2 + j] * id;
    const auto q0 = static_cast<std::uint8_t>(std::min<int>(15, static_cast<std::int8_t>(x0 + 8.5f)));
    const auto q1 = static_cast<std::uint8_t>(std::min<int>(15, static_cast<std::int8_t>(x1 + 8.5f)));
    y.qs[j] = static_cast<std::uint8_t>(q0 | (q1 << 4));
  }
}

template <typename Block, typename Quantize>
std::vector<std::byte> encode_blocks(const float* x, std::int64_t count, Quantize quantize) {
  const std::int64_t blocks = count / kBlock;
  std::vector<std::byte> out(static_cast<std::size_t>(blocks) * sizeof(Block));
  auto* y = reinterpret_cast<Block*>(out.data());
  core::parallel_for(blocks, 1024, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) quantize(x + b * kBlock, y[b]);
  });
  return out;
}

}  // namespace

bool can_encode(GgmlType type) {
  return type == GgmlType::f32 || type == GgmlType::f16 || type == GgmlType::q8_0 || type == GgmlType::q4_0;
}

bool can_decode(GgmlType type) { return can_encode(type) || type == GgmlType::bf16; }

std::vector<std::byte> encode_rows(GgmlType type, const float* x, std::int64_t rows, std::int64_t cols) {
  const GgmlTypeTraits traits = ggml_type_traits(type);
  SIEVE_CHECK(can_encode(type) && cols % traits.block_elements == 0, "cannot encode rows of {} as {}", cols,
              traits.name);
  const std::int64_t count = rows * cols;
  switch (type) {
    case GgmlType::f32: {
      std::vector<std::byte> out(static_cast<std::size_t>(count) * 4);
      std::memcpy(out.data(), x, out.size());
      return out;
    }
    case GgmlType::f16: {
      std::vector<std::byte> out(static_cast<std::size_t>(count) * 2);
      auto* y = reinterpret_cast<std::uint16_t*>(out.data());
      for (std::int64_t i = 0; i < count; ++i) y[i] = core::f32_to_f16_bits(x[i]);
      return out;
    }
    case GgmlType::q8_0: return encode_blocks<BlockQ8_0>(x, count, quantize_block_q8_0);
    case GgmlType::q4_0: return encode_blocks<BlockQ4_0>(x, count, quantize_block_q4_0);
    default: break;
  }
  SIEVE_CHECK(false, "unreachable");
}

void decode_elements(GgmlType type, std::span<const std::byte> bytes, std::int64_t count, float* out) {
  const GgmlTypeTraits traits = ggml_type_traits(type);
  SIEVE_CHECK(count % traits.block_elements == 0 &&
                  static_cast<std::int64_t>(bytes.size()) == count / traits.block_elements * traits.block_bytes,
              "{} bytes do not hold {} {} elements", bytes.size(), count, traits.name);
  switch (type) {
    case GgmlType::f32:
      std::memcpy(out, bytes.data(), bytes.size());
      return;
    case GgmlType::f16:
    case GgmlType::bf16: {
      for (std::int64_t i = 0; i < count; ++i) {
        std::uint16_t bits;
        std::memcpy(&bits, bytes.data() + 2 * i, 2);
        out[i] = type == GgmlType::f16 ? core::f16_bits_to_f32(bits) : core::bf16_bits_to_f32(bits);
      }
      return;
    }
    case GgmlType::q8_0: {
      for (std::int64_t b = 0; b < count / kBlock; ++b) {
        BlockQ8_0 block;
        std::memcpy(&block, bytes.data() + b * sizeof(BlockQ8_0), sizeof(BlockQ8_0));
        const float d = core::f16_bits_to_f32(block.d);
        for (std::int64_t j = 0; j < kBlock; ++j) out[b * kBlock + j] = d * static_cast<float>(block.qs[j]);
      }
      return;
    }
    case GgmlType::q4_0: {
      for (std::int64_t b = 0; b < count / kBlock; ++b) {
        BlockQ4_0 block;
        std::memcpy(&block, bytes.data() + b * sizeof(BlockQ4_0), sizeof(BlockQ4_0));
        const float d = core::f16_bits_to_f32(block.d);
        for (std::int64_t j = 0; j < kBlock / 2; ++j) {
          out[b * kBlock + j] = d * static_cast<float>((block.qs[j] & 0x0F) - 8);
          out[b * kBlock + j + kBlock / 2] = d * static_cast<float>((block.qs[j] >> 4) - 8);
        }
      }
      return;
    }
    default: break;
  }
  core::throw_user_error("ggml type {} cannot be converted to f32 by Sieve (it reads f32, f16, bf16, q8_0, q4_0)",
                         traits.name);
}

}  // namespace sieve::convert_gguf
