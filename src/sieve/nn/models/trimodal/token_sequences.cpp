#include "sieve/nn/models/trimodal/token_sequences.h"

#include <algorithm>

#include "sieve/core/error.h"
#include "sieve/ops/embedding.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::nn {

TokenSequences pack_sequences(std::span<const TokenSequences> parts) {
  SIEVE_CHECK(!parts.empty(), "pack_sequences needs at least one part");
  if (parts.size() == 1) return parts.front();
  const std::int64_t batch = parts.front().tokens.size(0), channels = parts.front().tokens.size(2);
  std::vector<Tensor> flat;  // each part as [B·T_i, C], stacked into one gather table
  std::vector<std::int64_t> part_offset;
  std::int64_t rows = 0;
  for (const TokenSequences& part : parts) {
    SIEVE_CHECK(part.tokens.dim() == 3 && part.tokens.size(0) == batch && part.tokens.size(2) == channels &&
                    static_cast<std::int64_t>(part.lengths.size()) == batch,
                "pack_sequences: parts must share batch and channels, with one length per row");
    part_offset.push_back(rows);
    rows += batch * part.tokens.size(1);
    flat.push_back(ops::reshape(ops::contiguous(part.tokens), {batch * part.tokens.size(1), channels}));
  }
  TokenSequences packed;
  packed.lengths.assign(static_cast<std::size_t>(batch), 0);
  for (const TokenSequences& part : parts) {
    for (std::int64_t b = 0; b < batch; ++b) packed.lengths[b] += part.lengths[b];
  }
  const std::int64_t width = *std::max_element(packed.lengths.begin(), packed.lengths.end());
  Tensor ids = Tensor::empty({batch, width}, core::DType::i64);
  auto* id = ids.data<std::int64_t>();
  for (std::int64_t b = 0; b < batch; ++b) {
    std::int64_t t = 0;
    for (std::size_t p = 0; p < parts.size(); ++p) {
      const std::int64_t part_tokens = parts[p].tokens.size(1);
      for (std::int64_t i = 0; i < parts[p].lengths[b]; ++i) id[b * width + t++] = part_offset[p] + b * part_tokens + i;
    }
    const std::int64_t first = id[b * width];
    for (; t < width; ++t) id[b * width + t] = first;
  }
  const Tensor table = ops::concat(flat, 0);
  packed.tokens = ops::embedding(table, ids);
  return packed;
}

}  // namespace sieve::nn
