// Fused attention vs a naive double-precision reference (full softmax with the causal mask,
// or bidirectional with per-batch key lengths), forward and backward, on every instruction set
// this CPU runs.
//
// Letters: B batch, T query tokens, S key tokens, H query heads, Hkv kv heads, D head dim.
#include "attention_test_util.h"
#include "sieve/kernels/cpu/attention_causal.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"

namespace sieve::kernels::cpu {
namespace {

using testing::available_isas;
using testing::isa_label;
using testing::scaled_error;

using Shape = CausalAttentionShape;

std::int64_t kv_stride(const Shape& s) {
  return s.kv_batch_stride != 0 ? s.kv_batch_stride : s.key_tokens * s.kv_heads * s.head_dim;
}

// Inputs for one problem. k and v hold B batches of kv_stride elements; whatever lies past
// the S*Hkv*D used ones (a KV cache's unused tail) is NaN, so reading it poisons the result.
// With key lengths, the padding keys (s >= length) are NaN as well.
struct Problem {
  Shape shape;
  std::vector<float> q, k, v, dout;  // q, dout: [B, T, H, D]; k, v: [B, stride]
  std::vector<std::int64_t> lengths;  // [B] or empty; shape.key_lengths points here
};

Problem make_problem(const Shape& shape, std::uint32_t seed, float range = 1.0f,
                     std::vector<std::int64_t> lengths = {}) {
  Problem p{shape, {}, {}, {}, {}, std::move(lengths)};
  p.shape.key_lengths = p.lengths.empty() ? nullptr : p.lengths.data();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-range, range);
  const std::int64_t qn = shape.batch * shape.query_tokens * shape.heads * shape.head_dim;
  const std::int64_t used = shape.key_tokens * shape.kv_heads * shape.head_dim;
  const std::int64_t stride = kv_stride(shape);
  p.q.resize(qn);
  p.dout.resize(qn);
  for (float& x : p.q) x = dist(rng);
  for (float& x : p.dout) x = dist(rng);
  for (auto* kv : {&p.k, &p.v}) {
    kv->assign(shape.batch * stride, std::numeric_limits<float>::quiet_NaN());
    for (std::int64_t b = 0; b < shape.batch; ++b) {
      for (std::int64_t i = 0; i < used; ++i) (*kv)[b * stride + i] = dist(rng);
      if (!p.lengths.empty()) {
        const std::int64_t valid = p.lengths[b] * shape.kv_heads * shape.head_dim;
        for (std::int64_t i = valid; i < used; ++i) (*kv)[b * stride + i] = std::numeric_limits<float>::quiet_NaN();
      }
    }
  }
  return p;
}

// The keys query t of batch b sees: [0, visible_keys).
std::int64_t visible_keys(const Shape& s, std::int64_t b, std::int64_t t) {
  const std::int64_t limit = s.key_lengths != nullptr ? s.key_lengths[b] : s.key_tokens;
  return s.causal ? std::min(limit, t + s.query_offset + 1) : limit;
}

struct Reference {
  std::vector<double> out, lse, dq, dk, dv;  // dk, dv contiguous [B, S, Hkv, D]
};

// Plain attention in double: scores for every visible key, softmax, weighted sum; and its
// analytic gradient for the loss sum(out * dout).
Reference reference(const Problem& p) {
  const Shape& s = p.shape;
  const std::int64_t B = s.batch, T = s.query_tokens, S = s.key_tokens, H = s.heads,
                     Hkv = s.kv_heads, D = s.head_dim, G = H / Hkv, stride = kv_stride(s);
  Reference r;
  r.out.assign(B * T * H * D, 0.0);
  r.lse.assign(B * H * T, 0.0);
  r.dq.assign(B * T * H * D, 0.0);
  r.dk.assign(B * S * Hkv * D, 0.0);
  r.dv.assign(B * S * Hkv * D, 0.0);
  std::vector<double> prob(S), dprob(S);
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t h = 0; h < H; ++h) {
      const std::int64_t hk = h / G;
      for (std::int64_t t = 0; t < T; ++t) {
        const std::int64_t visible = visible_keys(s, b, t);
        const float* q = &p.q[((b * T + t) * H + h) * D];
        const float* dout = &p.dout[((b * T + t) * H + h) * D];
        auto krow = [&](const std::vector<float>& m, std::int64_t j) {
          return &m[b * stride + (j * Hkv + hk) * D];
        };
        double max = -std::numeric_limits<double>::infinity();
        for (std::int64_t j = 0; j < visible; ++j) {
          double dot = 0;
          for (std::int64_t d = 0; d < D; ++d) dot += double(q[d]) * krow(p.k, j)[d];
          prob[j] = dot * s.scale;
          max = std::max(max, prob[j]);
        }
        double sum = 0;
        for (std::int64_t j = 0; j < visible; ++j) sum += std::exp(prob[j] - max);
        r.lse[(b * H + h) * T + t] = max + std::log(sum);
        double* out = &r.out[((b * T + t) * H + h) * D];
        for (std::int64_t j = 0; j < visible; ++j) {
          prob[j] = std::exp(prob[j] - max) / sum;
          for (std::int64_t d = 0; d < D; ++d) out[d] += prob[j] * krow(p.v, j)[d];
        }
        // dP_j = dO . v_j;  dS_j = P_j (dP_j - sum_i P_i dP_i)
        double expected = 0;
        for (std::int64_t j = 0; j < visible; ++j) {
          double dot = 0;
          for (std::int64_t d = 0; d < D; ++d) dot += double(dout[d]) * krow(p.v, j)[d];
          dprob[j] = dot;
          expected += prob[j] * dot;
        }
        double* dq = &r.dq[((b * T + t) * H + h) * D];
        for (std::int64_t j = 0; j < visible; ++j) {
          const double ds = prob[j] * (dprob[j] - expected) * s.scale;
          double* dk = &r.dk[((b * S + j) * Hkv + hk) * D];
          double* dv = &r.dv[((b * S + j) * Hkv + hk) * D];
          for (std::int64_t d = 0; d < D; ++d) {
            dq[d] += ds * krow(p.k, j)[d];
            dk[d] += ds * q[d];
            dv[d] += prob[j] * dout[d];
          }
        }
      }
    }
  }
  return r;
}

constexpr AttentionBackwardSchedule kSchedules[] = {AttentionBackwardSchedule::per_kv_head,
                                                    AttentionBackwardSchedule::split_passes};

std::string schedule_label(AttentionBackwardSchedule schedule) {
  return schedule == AttentionBackwardSchedule::per_kv_head ? "per_kv_head" : "split_passes";
}

struct Outputs {
  std::vector<float> out, lse, dq, dk, dv;
};

Outputs run(AttentionIsa isa, const Problem& p,
            AttentionBackwardSchedule schedule = AttentionBackwardSchedule::automatic) {
  const Shape& s = p.shape;
  Outputs o;
  // Garbage everywhere first: every output must be written, gradients overwritten.
  o.out.assign(p.q.size(), 7.0f);
  o.lse.assign(s.batch * s.heads * s.query_tokens, 7.0f);
  o.dq.assign(p.q.size(), 7.0f);
  o.dk.assign(s.batch * s.key_tokens * s.kv_heads * s.head_dim, 7.0f);
  o.dv.assign(o.dk.size(), 7.0f);
  attention_causal_forward_isa(isa, core::DType::f32, s, p.q.data(), p.k.data(), p.v.data(),
                               o.out.data(), o.lse.data());
  attention_causal_backward_isa(isa, schedule, core::DType::f32, s, p.q.data(), p.k.data(),
                                p.v.data(), o.out.data(), o.lse.data(), p.dout.data(),
                                o.dq.data(), o.dk.data(), o.dv.data());
  return o;
}

struct Case {
  const char* name;
  Shape shape;
  float range = 1.0f;  // inputs uniform in [-range, range]
};

Shape shape_of(std::int64_t B, std::int64_t T, std::int64_t S, std::int64_t H, std::int64_t Hkv,
               std::int64_t D, std::int64_t offset, std::int64_t kv_batch_stride = 0,
               float scale = 0.0f) {
  return Shape{B, T, S, H, Hkv, D, offset, kv_batch_stride,
               scale != 0.0f ? scale : 1.0f / std::sqrt(static_cast<float>(D))};
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"odd_small_d16", shape_of(2, 37, 37, 2, 2, 16, 0)},
      {"gqa3_d64_t150", shape_of(1, 150, 150, 3, 1, 64, 0)},
      {"gqa2_d80_t130", shape_of(1, 130, 130, 4, 2, 80, 0)},
      {"decode_t1_cache", shape_of(2, 1, 77, 4, 2, 64, 76, 100 * 2 * 64)},
      {"decode_t3_cache", shape_of(2, 3, 70, 2, 1, 32, 67, 90 * 1 * 32)},
      {"prefill_chunk_cache", shape_of(2, 40, 100, 4, 2, 24, 60, 128 * 2 * 24)},
      {"unseen_keys", shape_of(1, 5, 20, 2, 1, 8, 3)},
      {"large_scores", shape_of(1, 70, 70, 2, 2, 16, 0, 0, 2.0f), 2.0f},
      {"d1_t1", shape_of(1, 1, 1, 1, 1, 1, 0)},
      {"d7_t200", shape_of(1, 200, 200, 2, 1, 7, 0)},
  };
  return all;
}

// The reference itself: its analytic gradient against central differences of
// sum(out * dout), in double, on a tiny problem.
TEST(AttentionCausal, ReferenceGradientMatchesFiniteDifferences) {
  Problem p = make_problem(shape_of(1, 4, 6, 2, 1, 3, 2), 11);
  const Reference r = reference(p);
  auto loss = [&]() {
    const Reference x = reference(p);
    double sum = 0;
    for (std::size_t i = 0; i < x.out.size(); ++i) sum += x.out[i] * p.dout[i];
    return sum;
  };
  // Inputs are float; perturb by an exactly representable step and difference in double.
  const float h = 1.0f / 1024.0f;
  auto check = [&](std::vector<float>& x, auto index_of_grad, const std::vector<double>& grad) {
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (std::isnan(x[i])) continue;
      const float saved = x[i];
      x[i] = saved + h;
      const double up = loss();
      x[i] = saved - h;
      const double down = loss();
      x[i] = saved;
      EXPECT_NEAR((up - down) / (2.0 * h), grad[index_of_grad(i)], 2e-5) << "element " << i;
    }
  };
  auto same = [](std::size_t i) { return i; };
  check(p.q, same, r.dq);
  check(p.k, same, r.dk);  // contiguous: kv_batch_stride 0
  check(p.v, same, r.dv);
}

TEST(AttentionCausal, ForwardAndBackwardMatchReferenceOnEveryIsa) {
  for (const Case& c : cases()) {
    const Problem p = make_problem(c.shape, 1234, c.range);
    const Reference r = reference(p);
    for (AttentionIsa isa : available_isas()) {
      for (AttentionBackwardSchedule schedule : kSchedules) {
        SCOPED_TRACE(std::string(c.name) + " on " + isa_label(isa) + ", " +
                     schedule_label(schedule));
        const Outputs o = run(isa, p, schedule);
        EXPECT_LT(scaled_error(o.out, r.out), 1e-5);
        EXPECT_LT(scaled_error(o.lse, r.lse, 1.0), 1e-5);
        EXPECT_LT(scaled_error(o.dq, r.dq), 2e-5);
        EXPECT_LT(scaled_error(o.dk, r.dk), 2e-5);
        EXPECT_LT(scaled_error(o.dv, r.dv), 2e-5);
      }
    }
  }
}

Shape bidirectional(Shape s) {
  s.causal = false;
  return s;
}

// Bidirectional (encoder) attention with per-batch key lengths: lengths not a multiple of any
// block, a batch with every key valid, a batch with a single key, T != S (cross-attention),
// GQA, and lengths reaching into the second group of key blocks. Padding keys are NaN, so a
// kernel that reads them fails.
struct MaskedCase {
  const char* name;
  Shape shape;
  std::vector<std::int64_t> lengths;  // empty: all S
};

const std::vector<MaskedCase>& masked_cases() {
  static const std::vector<MaskedCase> all = {
      {"bi_all_keys_d16", bidirectional(shape_of(2, 37, 37, 2, 2, 16, 0)), {}},
      {"bi_lengths_gqa2_d32", bidirectional(shape_of(3, 45, 45, 4, 2, 32, 0)), {45, 17, 1}},
      {"bi_cross_t20_s150_gqa3", bidirectional(shape_of(2, 20, 150, 3, 1, 24, 0)), {150, 70}},
      {"bi_long_t300_d64", bidirectional(shape_of(2, 300, 300, 2, 1, 64, 0)), {283, 130}},
      {"bi_d7_lengths", bidirectional(shape_of(2, 66, 66, 2, 2, 7, 0)), {65, 3}},
      {"causal_with_lengths", shape_of(2, 90, 90, 2, 1, 16, 0), {90, 41}},
      {"causal_cache_with_lengths", shape_of(2, 3, 70, 2, 1, 32, 67, 90 * 1 * 32), {70, 50}},
  };
  return all;
}

TEST(AttentionBidirectional, ReferenceGradientMatchesFiniteDifferences) {
  Problem p = make_problem(bidirectional(shape_of(2, 4, 5, 2, 1, 3, 0)), 12, 1.0f, {5, 2});
  const Reference r = reference(p);
  auto loss = [&]() {
    const Reference x = reference(p);
    double sum = 0;
    for (std::size_t i = 0; i < x.out.size(); ++i) sum += x.out[i] * p.dout[i];
    return sum;
  };
  const float h = 1.0f / 1024.0f;
  auto check = [&](std::vector<float>& x, const std::vector<double>& grad) {
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (std::isnan(x[i])) {  // padding: no gradient
        EXPECT_EQ(grad[i], 0.0) << "element " << i;
        continue;
      }
      const float saved = x[i];
      x[i] = saved + h;
      const double up = loss();
      x[i] = saved - h;
      const double down = loss();
      x[i] = saved;
      EXPECT_NEAR((up - down) / (2.0 * h), grad[i], 2e-5) << "element " << i;
    }
  };
  check(p.q, r.dq);
  check(p.k, r.dk);
  check(p.v, r.dv);
}

TEST(AttentionBidirectional, ForwardAndBackwardMatchReferenceOnEveryIsa) {
  for (const MaskedCase& c : masked_cases()) {
    const Problem p = make_problem(c.shape, 4321, 1.0f, c.lengths);
    const Reference r = reference(p);
    for (AttentionIsa isa : available_isas()) {
      for (AttentionBackwardSchedule schedule : kSchedules) {
        SCOPED_TRACE(std::string(c.name) + " on " + isa_label(isa) + ", " +
                     schedule_label(schedule));
        const Outputs o = run(isa, p, schedule);
        EXPECT_LT(scaled_error(o.out, r.out), 1e-5);
        EXPECT_LT(scaled_error(o.lse, r.lse, 1.0), 1e-5);
        EXPECT_LT(scaled_error(o.dq, r.dq), 2e-5);
        EXPECT_LT(scaled_error(o.dk, r.dk), 2e-5);
        EXPECT_LT(scaled_error(o.dv, r.dv), 2e-5);
      }
    }
  }
}

// Key lengths equal to S change nothing, bit for bit.
TEST(AttentionBidirectional, FullLengthsEqualNoLengths) {
  const Problem none = make_problem(bidirectional(shape_of(2, 70, 70, 2, 1, 16, 0)), 8);
  const Problem full = make_problem(none.shape, 8, 1.0f, {70, 70});
  const Outputs a = run(attention_causal_default_isa(), none);
  const Outputs b = run(attention_causal_default_isa(), full);
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.dq, b.dq);
  EXPECT_EQ(a.dk, b.dk);
  EXPECT_EQ(a.dv, b.dv);
}

TEST(AttentionBidirectional, BadMasksAreRejected) {
  Problem p = make_problem(bidirectional(shape_of(2, 4, 4, 1, 1, 8, 0)), 3);
  std::vector<float> out(p.q.size()), lse(8);
  auto forward = [&](const Shape& s) {
    attention_causal_forward(core::DType::f32, s, p.q.data(), p.k.data(), p.v.data(), out.data(),
                             lse.data());
  };
  for (const std::vector<std::int64_t>& bad :
       {std::vector<std::int64_t>{4, 0}, std::vector<std::int64_t>{5, 4}, std::vector<std::int64_t>{-1, 2}}) {
    Shape s = p.shape;
    s.key_lengths = bad.data();
    EXPECT_THROW(forward(s), core::Error) << bad[0] << ", " << bad[1];
  }
  Shape s = p.shape;
  s.query_offset = 1;  // meaningless without the causal mask
  EXPECT_THROW(forward(s), core::Error);
}

TEST(AttentionCausal, DefaultEntryPointsUseTheBestIsa) {
  const Problem p = make_problem(shape_of(1, 33, 33, 2, 1, 16, 0), 5);
  const Outputs want = run(attention_causal_default_isa(), p);
  std::vector<float> out(p.q.size()), lse(want.lse.size()), dq(p.q.size()), dk(want.dk.size()),
      dv(want.dv.size());
  attention_causal_forward(core::DType::f32, p.shape, p.q.data(), p.k.data(), p.v.data(),
                           out.data(), lse.data());
  attention_causal_backward(core::DType::f32, p.shape, p.q.data(), p.k.data(), p.v.data(),
                            out.data(), lse.data(), p.dout.data(), dq.data(), dk.data(),
                            dv.data());
  EXPECT_EQ(out, want.out);
  EXPECT_EQ(dq, want.dq);
  EXPECT_EQ(dk, want.dk);
  EXPECT_EQ(dv, want.dv);
  // lse is optional in inference.
  std::vector<float> out2(p.q.size());
  attention_causal_forward(core::DType::f32, p.shape, p.q.data(), p.k.data(), p.v.data(),
                           out2.data(), nullptr);
  EXPECT_EQ(out2, want.out);
}

// Each output element has one writer and a fixed order of summation, so the thread count
// cannot change a bit (and a race would). It does change how many blocks share a work item
// (one thread takes the largest groups), so the one-thread run is checked against the
// reference too.
TEST(AttentionCausal, ResultsDoNotDependOnThreadCount) {
  const Problem p = make_problem(shape_of(2, 200, 200, 4, 2, 32, 0), 9);
  const Reference r = reference(p);
  const int saved = core::num_threads();
  for (AttentionBackwardSchedule schedule : kSchedules) {
    SCOPED_TRACE(schedule_label(schedule));
    core::set_num_threads(1);
    const Outputs one = run(attention_causal_default_isa(), p, schedule);
    core::set_num_threads(3);
    const Outputs three = run(attention_causal_default_isa(), p, schedule);
    core::set_num_threads(saved);
    EXPECT_LT(scaled_error(one.out, r.out), 1e-5);
    EXPECT_LT(scaled_error(one.dq, r.dq), 2e-5);
    EXPECT_LT(scaled_error(one.dk, r.dk), 2e-5);
    EXPECT_LT(scaled_error(one.dv, r.dv), 2e-5);
    EXPECT_EQ(one.out, three.out);
    EXPECT_EQ(one.lse, three.lse);
    EXPECT_EQ(one.dq, three.dq);
    EXPECT_EQ(one.dk, three.dk);
    EXPECT_EQ(one.dv, three.dv);
  }
}

TEST(AttentionCausal, OtherDtypesAreRejectedByName) {
  const Problem p = make_problem(shape_of(1, 4, 4, 1, 1, 8, 0), 3);
  std::vector<float> out(p.q.size()), lse(4);
  try {
    attention_causal_forward(core::DType::bf16, p.shape, p.q.data(), p.k.data(), p.v.data(),
                             out.data(), lse.data());
    FAIL() << "bf16 forward should throw";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bf16"), std::string::npos) << e.what();
  }
  EXPECT_THROW(attention_causal_backward(core::DType::f16, p.shape, p.q.data(), p.k.data(),
                                         p.v.data(), out.data(), lse.data(), p.q.data(),
                                         out.data(), out.data(), out.data()),
               core::Error);
}

TEST(AttentionCausal, BadShapesAreRejected) {
  const Problem p = make_problem(shape_of(1, 4, 4, 2, 2, 8, 0), 3);
  std::vector<float> out(p.q.size()), lse(8);
  auto forward = [&](Shape s) {
    attention_causal_forward(core::DType::f32, s, p.q.data(), p.k.data(), p.v.data(),
                             out.data(), lse.data());
  };
  Shape s = p.shape;
  s.kv_heads = 3;  // 2 % 3 != 0
  EXPECT_THROW(forward(s), core::Error);
  s = p.shape;
  s.query_offset = -1;
  EXPECT_THROW(forward(s), core::Error);
  s = p.shape;
  s.kv_batch_stride = 4;  // smaller than one batch of k/v
  EXPECT_THROW(forward(s), core::Error);
}

TEST(AttentionCausal, NoQueriesGivesZeroKeyGradients) {
  const Shape s = shape_of(1, 0, 5, 1, 1, 4, 0);
  std::vector<float> k(20, 1.0f), dk(20, 7.0f), dv(20, 7.0f);
  attention_causal_backward(core::DType::f32, s, nullptr, k.data(), k.data(), nullptr, nullptr,
                            nullptr, nullptr, dk.data(), dv.data());
  EXPECT_EQ(dk, std::vector<float>(20, 0.0f));
  EXPECT_EQ(dv, std::vector<float>(20, 0.0f));
}

// Causal vs bidirectional throughput on encoder-sized problems: median time of forward and
// backward (wall, or with SIEVE_BENCH_CPU_TIME=1 the process's CPU time, steadier on a loaded
// machine with SIEVE_NUM_THREADS=1), and GFLOP/s counting only visible (query, key) pairs (4·D
// flops each forward, 10·D backward), so the two masks compare fairly though bidirectional does
// about twice the work. Not a test: run it with
//   build/tests/test_kernels --gtest_also_run_disabled_tests --gtest_filter='*DISABLED_MaskTimings'
TEST(AttentionBidirectional, DISABLED_MaskTimings) {
  struct Setup {
    const char* name;
    Shape shape;
  };
  const std::vector<Setup> setups = {{"B64 T64 H8 D32 (image tokens)", shape_of(64, 64, 64, 8, 8, 32, 0)},
                                     {"B16 T256 H8 D64", shape_of(16, 256, 256, 8, 8, 64, 0)},
                                     {"B4 T1024 H8 D64", shape_of(4, 1024, 1024, 8, 8, 64, 0)}};
  const bool cpu_time = std::getenv("SIEVE_BENCH_CPU_TIME") != nullptr;
  auto now_ms = [cpu_time] {
    if (!cpu_time) {
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
    }
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
  };
  std::printf("%s time; threads %d, isa %s; median of 7\n", cpu_time ? "CPU" : "wall", core::num_threads(),
              isa_label(attention_causal_default_isa()).c_str());
  for (const Setup& setup : setups) {
    const std::int64_t S = setup.shape.key_tokens;
    const std::vector<std::int64_t> three_quarters(static_cast<std::size_t>(setup.shape.batch), S * 3 / 4);
    struct Mask {
      const char* name;
      bool causal;
      const std::vector<std::int64_t>* lengths;
    };
    for (const Mask& mask : {Mask{"causal", true, nullptr}, Mask{"bidirectional", false, nullptr},
                             Mask{"bidirectional, lengths 3S/4", false, &three_quarters}}) {
      Shape s = setup.shape;
      s.causal = mask.causal;
      const Problem p = make_problem(s, 1, 1.0f, mask.lengths ? *mask.lengths : std::vector<std::int64_t>{});
      std::vector<float> out(p.q.size()), lse(s.batch * s.heads * s.query_tokens), dq(p.q.size()), dk(p.k.size()),
          dv(p.v.size());
      std::vector<double> forward, backward;
      for (int round = -1; round < 7; ++round) {
        const double t0 = now_ms();
        attention_causal_forward(core::DType::f32, p.shape, p.q.data(), p.k.data(), p.v.data(), out.data(), lse.data());
        const double t1 = now_ms();
        attention_causal_backward(core::DType::f32, p.shape, p.q.data(), p.k.data(), p.v.data(), out.data(), lse.data(),
                                  p.dout.data(), dq.data(), dk.data(), dv.data());
        const double t2 = now_ms();
        if (round < 0) continue;
        forward.push_back(t1 - t0);
        backward.push_back(t2 - t1);
      }
      std::sort(forward.begin(), forward.end());
      std::sort(backward.begin(), backward.end());
      double pairs = 0;  // visible (query, key) pairs per head
      for (std::int64_t b = 0; b < s.batch; ++b)
        for (std::int64_t t = 0; t < s.query_tokens; ++t) pairs += double(visible_keys(p.shape, b, t));
      const double unit = pairs * double(s.heads * s.head_dim) * 1e-6;  // per ms → GFLOP/s
      std::printf("%-30s %-28s fwd %8.2f ms %6.1f GFLOP/s   bwd %8.2f ms %6.1f GFLOP/s\n", setup.name, mask.name,
                  forward[3], 4 * unit / forward[3], backward[3], 10 * unit / backward[3]);
    }
  }
}

}  // namespace
}  // namespace sieve::kernels::cpu
