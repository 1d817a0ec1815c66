// Continuous batching's forward (LlamaForCausalLM::next_token_logits_packed): sequences packed
// into one row, each at its own position with its own cache, give the logits each would get on
// its own — for dense layers (shared projections) and sparse ones (the per-sequence fallback),
// with prefill, chunked prefill and decode tokens mixed in one step.
#include <gtest/gtest.h>

#include <vector>

#include "random_token_ids.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/nn/models/llama.h"
#include "sieve/nn/models/presets.h"
#include "sieve/ops/shape_ops.h"
#include "small_sparse_config.h"

namespace {

using namespace sieve;
using core::Tensor;

// Token ids [1, n] from `seed`.
std::vector<std::int64_t> tokens(std::int64_t n, std::int64_t vocab, std::uint64_t seed) {
  const Tensor ids = sieve::testing::token_ids(1, n, vocab, seed);
  return {ids.data<std::int64_t>(), ids.data<std::int64_t>() + n};
}

// Each sequence runs `chunks` (token counts per step) through its own cache, alone and packed
// with the others; every step's last-token logits must agree.
void expect_packed_equals_alone(const nn::LlamaConfig& config, const std::vector<std::vector<std::int64_t>>& chunks) {
  autograd::NoGradGuard no_grad;
  nn::LlamaForCausalLM model(config, 5);
  model.set_training(false);
  const std::size_t sequences = chunks.size();
  std::vector<nn::KvCache> alone, packed;
  for (std::size_t s = 0; s < sequences; ++s) {
    alone.push_back(model.make_cache(1, 96));
    packed.push_back(model.make_cache(1, 96));
  }
  const std::size_t steps = chunks.front().size();
  for (std::size_t step = 0; step < steps; ++step) {
    std::vector<std::int64_t> row, lengths;
    std::vector<nn::KvCache*> caches;
    std::vector<Tensor> expected;
    for (std::size_t s = 0; s < sequences; ++s) {
      const std::int64_t n = chunks[s][step];
      if (n == 0) continue;  // this sequence sits this step out
      const auto ids = tokens(n, config.vocab_size, 100 * s + step);
      expected.push_back(model.next_token_logits(Tensor::from_vector(ids, {1, n}), &alone[s]).contiguous());
      row.insert(row.end(), ids.begin(), ids.end());
      lengths.push_back(n);
      caches.push_back(&packed[s]);
    }
    const std::int64_t total = static_cast<std::int64_t>(row.size());
    const Tensor logits = model.next_token_logits_packed(Tensor::from_vector(row, {1, total}), lengths, caches)
                              .contiguous();
    ASSERT_EQ(logits.size(0), static_cast<std::int64_t>(expected.size()));
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const float* got = logits.data<float>() + i * config.vocab_size;
      const float* want = expected[i].data<float>();
      for (std::int64_t v = 0; v < config.vocab_size; ++v)
        ASSERT_NEAR(got[v], want[v], 1e-4f) << "step " << step << " sequence " << i << " vocab " << v;
    }
  }
  for (std::size_t s = 0; s < sequences; ++s) EXPECT_EQ(packed[s].length(), alone[s].length());
}

TEST(PackedForward, DenseSequencesAtTheirOwnPositionsMatchRunningAlone) {
  // Step by step: prefills of different lengths, a chunked prefill, decode tokens, a sequence
  // that joins late and one that sits a step out.
  expect_packed_equals_alone(nn::preset_config("tiny"), {{7, 1, 1, 1}, {3, 5, 1, 1}, {0, 0, 12, 1}, {1, 1, 0, 1}});
}

TEST(PackedForward, SparseLayersFallBackToOneSequenceAtATime) {
  expect_packed_equals_alone(sieve::testing::small_sparse_config(), {{9, 1, 1}, {2, 4, 1}, {0, 6, 1}});
}

TEST(PackedForward, ALengthBeyondTheContextIsAUserError) {
  autograd::NoGradGuard no_grad;
  nn::LlamaConfig config = nn::preset_config("tiny");
  config.max_position_embeddings = 8;
  const nn::LlamaForCausalLM model(config, 1);
  nn::KvCache cache = model.make_cache(1, 16);
  const std::vector<std::int64_t> lengths{9};
  nn::KvCache* caches[] = {&cache};
  EXPECT_THROW(model.next_token_logits_packed(sieve::testing::token_ids(1, 9, config.vocab_size, 1), lengths, caches),
               core::UserError);
}

}  // namespace
