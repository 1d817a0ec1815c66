// Dynamic sparse attention vs a naive double-precision reference that builds every query's key
// set straight from the rules in sparse_attention.h (local window, global list, LSH rounds with
// the last-C cut and deduplication), forward and backward, on every instruction set this CPU
// runs; and vs the dense causal kernel where the sparse sets cover every key.
//
// Plans are built here by a small test-local builder (random buckets and global lists), not by
// sparse_attention_plan.h, so these tests pin the kernel alone.
//
// Letters as in sparse_attention.h.
#include "attention_test_util.h"
#include "sieve/kernels/cpu/sparse_attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/attention_causal.h"

namespace sieve::kernels::cpu {
namespace {

using testing::available_isas;
using testing::isa_label;
using testing::scaled_error;

using std::int64_t;
using Shape = SparseAttentionShape;

Shape shape_of(int64_t B, int64_t T, int64_t H, int64_t Hkv, int64_t D, int64_t W, int64_t G, int64_t C, int64_t R,
               int64_t buckets) {
  return Shape{B, T, H, Hkv, D, W, C, R, buckets, G, 1.0f / std::sqrt(static_cast<float>(D))};
}

enum class Globals { none, random, all };

// A plan's arrays, owned (test-local builder).
struct OwnedPlan {
  std::vector<std::int32_t> global_keys, global_count;
  std::vector<float> key_bias;
  std::vector<std::int32_t> query_bucket, key_bucket, key_order, bucket_start, key_rank, query_order,
      query_bucket_start;
  SparseAttentionPlan view() const {
    SparseAttentionPlan p;
    p.global_keys = global_keys.empty() ? nullptr : global_keys.data();
    p.global_count = global_count.empty() ? nullptr : global_count.data();
    p.key_bias = key_bias.empty() ? nullptr : key_bias.data();
    p.query_bucket = query_bucket.empty() ? nullptr : query_bucket.data();
    p.key_bucket = key_bucket.empty() ? nullptr : key_bucket.data();
    p.key_order = key_order.empty() ? nullptr : key_order.data();
    p.bucket_start = bucket_start.empty() ? nullptr : bucket_start.data();
    p.key_rank = key_rank.empty() ? nullptr : key_rank.data();
    p.query_order = query_order.empty() ? nullptr : query_order.data();
    p.query_bucket_start = query_bucket_start.empty() ? nullptr : query_bucket_start.data();
    return p;
  }
};

int64_t blocks_of(const Shape& s) { return (s.tokens + kSparseQueryBlock - 1) / kSparseQueryBlock; }

// Sorts positions [0, T) of one head by (bucket, position) into order/start (and rank).
void sort_by_bucket(const Shape& s, const std::int32_t* bucket, std::int32_t* order, std::int32_t* start,
                    std::int32_t* rank) {
  std::vector<std::int32_t> count(static_cast<std::size_t>(s.buckets + 1), 0);
  for (int64_t t = 0; t < s.tokens; ++t) ++count[static_cast<std::size_t>(bucket[t] + 1)];
  for (int64_t u = 0; u < s.buckets; ++u) count[u + 1] += count[u];
  for (int64_t u = 0; u <= s.buckets; ++u) start[u] = count[u];
  for (int64_t t = 0; t < s.tokens; ++t) {
    const std::int32_t x = count[static_cast<std::size_t>(bucket[t])]++;
    order[x] = static_cast<std::int32_t>(t);
    if (rank != nullptr) rank[t] = x;
  }
}

// Rebuilds the sort orders from the buckets.
void sort_plan(const Shape& s, OwnedPlan& p) {
  const int64_t T = s.tokens, NBk = s.buckets;
  for (int64_t r = 0; r < s.rounds; ++r) {
    for (int64_t b = 0; b < s.batch; ++b) {
      for (int64_t h = 0; h < s.heads; ++h) {
        const int64_t at = (r * s.batch + b) * s.heads + h;
        sort_by_bucket(s, &p.query_bucket[at * T], &p.query_order[at * T], &p.query_bucket_start[at * (NBk + 1)],
                       nullptr);
      }
      for (int64_t g = 0; g < s.kv_heads; ++g) {
        const int64_t at = (r * s.batch + b) * s.kv_heads + g;
        sort_by_bucket(s, &p.key_bucket[at * T], &p.key_order[at * T], &p.bucket_start[at * (NBk + 1)],
                       &p.key_rank[at * T]);
      }
    }
  }
}

OwnedPlan make_plan(const Shape& s, Globals globals, bool bias, std::uint32_t seed) {
  std::mt19937 rng(seed);
  OwnedPlan p;
  const int64_t NB = blocks_of(s), T = s.tokens;
  if (s.global_cap > 0) {
    p.global_keys.assign(static_cast<std::size_t>(s.batch * NB * s.global_cap), -1);
    p.global_count.assign(static_cast<std::size_t>(s.batch * NB), 0);
    for (int64_t b = 0; b < s.batch; ++b) {
      for (int64_t block = 0; block < NB; ++block) {
        const int64_t horizon = std::min(T - 1, block * kSparseQueryBlock + kSparseQueryBlock - 1 - s.window);
        std::vector<std::int32_t> keys;
        for (std::int32_t j = 0; j <= horizon; ++j) keys.push_back(j);
        if (globals == Globals::none) keys.clear();
        if (globals == Globals::random) {
          std::shuffle(keys.begin(), keys.end(), rng);
          keys.resize(std::min<std::size_t>(keys.size(), rng() % (s.global_cap + 1)));
          std::sort(keys.begin(), keys.end());
        }
        EXPECT_LE(static_cast<int64_t>(keys.size()), s.global_cap);
        p.global_count[b * NB + block] = static_cast<std::int32_t>(keys.size());
        std::copy(keys.begin(), keys.end(), p.global_keys.begin() + (b * NB + block) * s.global_cap);
      }
    }
  }
  if (bias) {
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    p.key_bias.resize(static_cast<std::size_t>(s.batch * T));
    for (float& x : p.key_bias) x = dist(rng);
  }
  if (s.rounds > 0) {
    const auto q_count = static_cast<std::size_t>(s.rounds * s.batch * s.heads);
    const auto k_count = static_cast<std::size_t>(s.rounds * s.batch * s.kv_heads);
    p.query_bucket.resize(q_count * T);
    p.query_order.resize(q_count * T);
    p.query_bucket_start.resize(q_count * (s.buckets + 1));
    p.key_bucket.resize(k_count * T);
    p.key_order.resize(k_count * T);
    p.key_rank.resize(k_count * T);
    p.bucket_start.resize(k_count * (s.buckets + 1));
    for (auto& x : p.query_bucket) x = static_cast<std::int32_t>(rng() % s.buckets);
    for (auto& x : p.key_bucket) x = static_cast<std::int32_t>(rng() % s.buckets);
    sort_plan(s, p);
  }
  return p;
}

struct Problem {
  Shape shape;
  OwnedPlan plan;
  std::vector<float> q, k, v, dout;  // q, dout: [B, T, H, D]; k, v: [B, T, Hkv, D]
};

Problem make_problem(const Shape& s, Globals globals, bool bias, std::uint32_t seed) {
  Problem p{s, make_plan(s, globals, bias, seed), {}, {}, {}, {}};
  std::mt19937 rng(seed + 1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  p.q.resize(static_cast<std::size_t>(s.batch * s.tokens * s.heads * s.head_dim));
  p.dout.resize(p.q.size());
  p.k.resize(static_cast<std::size_t>(s.batch * s.tokens * s.kv_heads * s.head_dim));
  p.v.resize(p.k.size());
  for (auto* x : {&p.q, &p.k, &p.v, &p.dout}) {
    for (float& e : *x) e = dist(rng);
  }
  return p;
}

// One key of a query's set: position and additive bias (key_bias for global keys).
struct KeyOf {
  int64_t j;
  double bias;
  bool global;
};

// How often the LSH rules bite (for checking that the test cases exercise them).
struct RuleCounts {
  int64_t cut = 0;        // queries and rounds with more than C same-bucket keys
  int64_t duplicate = 0;  // LSH candidates dropped because G or an earlier round has them
};

// The rules of sparse_attention.h, spelled out naively.
std::vector<KeyOf> key_set(const Problem& p, int64_t b, int64_t h, int64_t t, RuleCounts* counts = nullptr) {
  const Shape& s = p.shape;
  const int64_t T = s.tokens, W = s.window, hk = h / (s.heads / s.kv_heads), NB = blocks_of(s);
  std::vector<KeyOf> keys;
  for (int64_t j = std::max<int64_t>(0, t - W + 1); j <= t; ++j) keys.push_back({j, 0.0, false});
  std::set<int64_t> global;
  if (s.global_cap > 0) {
    const int64_t block = t / kSparseQueryBlock;
    for (int64_t x = 0; x < p.plan.global_count[b * NB + block]; ++x) {
      const int64_t j = p.plan.global_keys[(b * NB + block) * s.global_cap + x];
      if (j > t - W) continue;
      global.insert(j);
      keys.push_back({j, p.plan.key_bias.empty() ? 0.0 : p.plan.key_bias[b * T + j], true});
    }
  }
  std::set<int64_t> taken;
  for (int64_t r = 0; r < s.rounds; ++r) {
    const int64_t bq = p.plan.query_bucket[((r * s.batch + b) * s.heads + h) * T + t];
    std::vector<int64_t> same;
    for (int64_t j = 0; j <= t - W; ++j) {
      if (p.plan.key_bucket[((r * s.batch + b) * s.kv_heads + hk) * T + j] == bq) same.push_back(j);
    }
    const std::size_t from = same.size() > static_cast<std::size_t>(s.lsh_keys) ? same.size() - s.lsh_keys : 0;
    if (counts != nullptr && from > 0) ++counts->cut;
    for (std::size_t x = from; x < same.size(); ++x) {
      const int64_t j = same[x];
      if (global.count(j) != 0 || taken.count(j) != 0) {
        if (counts != nullptr) ++counts->duplicate;
        continue;
      }
      taken.insert(j);
      keys.push_back({j, 0.0, false});
    }
  }
  return keys;
}

struct Reference {
  std::vector<double> out, lse, dq, dk, dv, dbias;
};

// Softmax attention over each query's explicit key set, in double, and the analytic gradient of
// sum(out * dout).
Reference reference(const Problem& p) {
  const Shape& s = p.shape;
  const int64_t B = s.batch, T = s.tokens, H = s.heads, Hkv = s.kv_heads, D = s.head_dim, group = H / Hkv;
  Reference r;
  r.out.assign(B * T * H * D, 0.0);
  r.lse.assign(B * H * T, 0.0);
  r.dq.assign(B * T * H * D, 0.0);
  r.dk.assign(B * T * Hkv * D, 0.0);
  r.dv.assign(B * T * Hkv * D, 0.0);
  r.dbias.assign(B * T, 0.0);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      const int64_t hk = h / group;
      for (int64_t t = 0; t < T; ++t) {
        const std::vector<KeyOf> keys = key_set(p, b, h, t);
        const float* q = &p.q[((b * T + t) * H + h) * D];
        const float* dout = &p.dout[((b * T + t) * H + h) * D];
        auto krow = [&](const std::vector<float>& x, int64_t j) { return &x[((b * T + j) * Hkv + hk) * D]; };
        std::vector<double> logit(keys.size()), prob(keys.size()), dprob(keys.size());
        double top = -std::numeric_limits<double>::infinity();
        for (std::size_t x = 0; x < keys.size(); ++x) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) dot += double(q[d]) * krow(p.k, keys[x].j)[d];
          logit[x] = dot * s.scale + keys[x].bias;
          top = std::max(top, logit[x]);
        }
        double sum = 0;
        for (std::size_t x = 0; x < keys.size(); ++x) sum += (prob[x] = std::exp(logit[x] - top));
        r.lse[(b * H + h) * T + t] = top + std::log(sum);
        double* out = &r.out[((b * T + t) * H + h) * D];
        double expected = 0;
        for (std::size_t x = 0; x < keys.size(); ++x) {
          prob[x] /= sum;
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) {
            out[d] += prob[x] * krow(p.v, keys[x].j)[d];
            dot += double(dout[d]) * krow(p.v, keys[x].j)[d];
          }
          dprob[x] = dot;
          expected += prob[x] * dot;
        }
        double* dq = &r.dq[((b * T + t) * H + h) * D];
        for (std::size_t x = 0; x < keys.size(); ++x) {
          const int64_t j = keys[x].j;
          const double ds = prob[x] * (dprob[x] - expected);
          if (keys[x].global) r.dbias[b * T + j] += ds;
          double* dk = &r.dk[((b * T + j) * Hkv + hk) * D];
          double* dv = &r.dv[((b * T + j) * Hkv + hk) * D];
          for (int64_t d = 0; d < D; ++d) {
            dq[d] += ds * s.scale * krow(p.k, j)[d];
            dk[d] += ds * s.scale * q[d];
            dv[d] += prob[x] * dout[d];
          }
        }
      }
    }
  }
  return r;
}

struct Outputs {
  std::vector<float> out, lse, dq, dk, dv, dbias;
};

Outputs run(AttentionIsa isa, const Problem& p) {
  const Shape& s = p.shape;
  Outputs o;
  o.out.assign(p.q.size(), std::numeric_limits<float>::quiet_NaN());
  o.lse.assign(static_cast<std::size_t>(s.batch * s.heads * s.tokens), std::numeric_limits<float>::quiet_NaN());
  o.dq.assign(p.q.size(), std::numeric_limits<float>::quiet_NaN());  // overwritten, never read
  o.dk.assign(p.k.size(), std::numeric_limits<float>::quiet_NaN());
  o.dv.assign(p.k.size(), std::numeric_limits<float>::quiet_NaN());
  o.dbias.assign(static_cast<std::size_t>(s.batch * s.tokens), std::numeric_limits<float>::quiet_NaN());
  const SparseAttentionPlan plan = p.plan.view();
  sparse_attention_forward_isa(isa, core::DType::f32, s, plan, p.q.data(), p.k.data(), p.v.data(), o.out.data(),
                               o.lse.data());
  sparse_attention_backward_isa(isa, core::DType::f32, s, plan, p.q.data(), p.k.data(), p.v.data(), o.out.data(),
                                o.lse.data(), p.dout.data(), o.dq.data(), o.dk.data(), o.dv.data(),
                                o.dbias.data());
  return o;
}

std::vector<double> widen(const std::vector<float>& x) { return {x.begin(), x.end()}; }

void expect_matches(const Outputs& o, const Reference& r, bool check_bias = true) {
  EXPECT_LT(scaled_error(o.out, r.out), 1e-5);
  EXPECT_LT(scaled_error(o.lse, r.lse, 1.0), 1e-5);
  EXPECT_LT(scaled_error(o.dq, r.dq), 2e-5);
  EXPECT_LT(scaled_error(o.dk, r.dk), 2e-5);
  EXPECT_LT(scaled_error(o.dv, r.dv), 2e-5);
  if (check_bias) {
    EXPECT_LT(scaled_error(o.dbias, r.dbias), 2e-5);
  }
}

struct Case {
  const char* name;
  Shape shape;
  Globals globals;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      // B T H Hkv D W G C R NBk
      {"gqa_two_rounds_two_buckets", shape_of(2, 150, 4, 2, 16, 64, 8, 4, 2, 2), Globals::random},
      {"one_round_c4", shape_of(1, 200, 2, 2, 32, 64, 16, 4, 1, 4), Globals::random},
      {"local_only_no_globals", shape_of(1, 130, 2, 1, 24, 96, 0, 4, 0, 2), Globals::none},
      {"empty_global_lists_three_rounds", shape_of(1, 190, 3, 1, 8, 64, 12, 3, 3, 3), Globals::none},
      {"dense_globals_overlap_lsh", shape_of(1, 230, 2, 1, 16, 64, 200, 8, 2, 2), Globals::all},
      {"wide_d64", shape_of(1, 257, 2, 2, 64, 128, 32, 16, 2, 8), Globals::random},
      {"odd_d7_many_buckets", shape_of(2, 140, 2, 1, 7, 64, 6, 5, 2, 16), Globals::random},
  };
  return all;
}

// The test-local reference itself: analytic gradient vs central differences of sum(out * dout),
// in double, on a tiny problem with every branch (local, global with bias, two LSH rounds).
TEST(SparseAttention, ReferenceGradientMatchesFiniteDifferences) {
  Problem p = make_problem(shape_of(1, 100, 2, 1, 3, 64, 6, 2, 2, 2), Globals::random, true, 21);
  const Reference r = reference(p);
  auto loss = [&]() {
    const Reference x = reference(p);
    double sum = 0;
    for (std::size_t i = 0; i < x.out.size(); ++i) sum += x.out[i] * p.dout[i];
    return sum;
  };
  const float h = 1.0f / 1024.0f;
  auto check = [&](std::vector<float>& x, const std::vector<double>& grad, const char* what) {
    // Every 5th element, and all of the last tokens (which reach the global and LSH keys).
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (i % 5 != 0 && i + 40 < x.size()) continue;
      const float saved = x[i];
      x[i] = saved + h;
      const double up = loss();
      x[i] = saved - h;
      const double down = loss();
      x[i] = saved;
      EXPECT_NEAR((up - down) / (2.0 * h), grad[i], 2e-5) << what << " element " << i;
    }
  };
  check(p.q, r.dq, "q");
  check(p.k, r.dk, "k");
  check(p.v, r.dv, "v");
  check(p.plan.key_bias, r.dbias, "key_bias");
  // The bias gradient is not trivially zero: some global key is used.
  double mag = 0;
  for (double x : r.dbias) mag = std::max(mag, std::abs(x));
  EXPECT_GT(mag, 1e-4);
}

TEST(SparseAttention, ForwardAndBackwardMatchReferenceOnEveryIsa) {
  for (const Case& c : cases()) {
    const Problem p = make_problem(c.shape, c.globals, true, 1234);
    const Reference r = reference(p);
    for (AttentionIsa isa : available_isas()) {
      SCOPED_TRACE(std::string(c.name) + " on " + isa_label(isa));
      expect_matches(run(isa, p), r);
    }
  }
}

// The C cut and the deduplication (against G and against earlier rounds) must happen in the
// reference cases, or matching the reference proves little about them.
TEST(SparseAttention, CasesExerciseTheCutAndTheDeduplication) {
  for (const Case& c : cases()) {
    if (c.shape.rounds == 0) continue;
    SCOPED_TRACE(c.name);
    const Problem p = make_problem(c.shape, c.globals, true, 1234);
    RuleCounts counts;
    for (int64_t t = 0; t < c.shape.tokens; ++t) key_set(p, 0, 0, t, &counts);
    EXPECT_GT(counts.cut, 0);
    if (c.shape.rounds > 1 || c.globals != Globals::none) {
      EXPECT_GT(counts.duplicate, 0);
    }
  }
}

TEST(SparseAttention, EqualsDenseAttentionWhenEveryKeyIsCovered) {
  struct Dense {
    const char* name;
    Shape shape;
    Globals globals;
  };
  const Dense dense[] = {
      {"window_covers_all", shape_of(2, 100, 4, 2, 16, 128, 0, 1, 0, 2), Globals::none},
      {"globals_cover_the_past", shape_of(1, 300, 2, 1, 32, 64, 300, 1, 0, 2), Globals::all},
  };
  for (const Dense& c : dense) {
    const Problem p = make_problem(c.shape, c.globals, false, 77);
    const Shape& s = p.shape;
    CausalAttentionShape cs{s.batch, s.tokens, s.tokens, s.heads, s.kv_heads, s.head_dim, 0, 0, s.scale};
    std::vector<float> out(p.q.size()), lse(static_cast<std::size_t>(s.batch * s.heads * s.tokens)),
        dq(p.q.size()), dk(p.k.size()), dv(p.k.size());
    attention_causal_forward(core::DType::f32, cs, p.q.data(), p.k.data(), p.v.data(), out.data(), lse.data());
    attention_causal_backward(core::DType::f32, cs, p.q.data(), p.k.data(), p.v.data(), out.data(), lse.data(),
                              p.dout.data(), dq.data(), dk.data(), dv.data());
    Reference want{widen(out), widen(lse), widen(dq), widen(dk), widen(dv), {}};
    for (AttentionIsa isa : available_isas()) {
      SCOPED_TRACE(std::string(c.name) + " on " + isa_label(isa));
      expect_matches(run(isa, p), want, false);
    }
  }
}

// Changing the inputs (and buckets) of tokens >= cut leaves the outputs of earlier tokens alone.
TEST(SparseAttention, LaterTokensDoNotChangeEarlierOutputs) {
  const Shape s = shape_of(1, 220, 2, 1, 16, 64, 10, 4, 2, 3);
  const Problem p = make_problem(s, Globals::random, true, 5);
  Problem later = p;
  const int64_t cut = 170;
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
  auto scramble = [&](std::vector<float>& x, int64_t row) {
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (static_cast<int64_t>(i / row) % s.tokens >= cut) x[i] = dist(rng);
    }
  };
  scramble(later.q, s.heads * s.head_dim);
  scramble(later.k, s.kv_heads * s.head_dim);
  scramble(later.v, s.kv_heads * s.head_dim);
  scramble(later.plan.key_bias, 1);
  for (auto* buckets : {&later.plan.query_bucket, &later.plan.key_bucket}) {
    for (std::size_t i = 0; i < buckets->size(); ++i) {
      if (static_cast<int64_t>(i) % s.tokens >= cut) (*buckets)[i] = static_cast<std::int32_t>(rng() % s.buckets);
    }
  }
  sort_plan(s, later.plan);
  for (AttentionIsa isa : available_isas()) {
    SCOPED_TRACE(isa_label(isa));
    const Outputs a = run(isa, p);
    const Outputs b = run(isa, later);
    double worst = 0;
    for (int64_t t = 0; t < cut; ++t) {
      for (int64_t x = 0; x < s.heads * s.head_dim; ++x) {
        const auto i = static_cast<std::size_t>(t * s.heads * s.head_dim + x);
        worst = std::max(worst, std::abs(double(a.out[i]) - b.out[i]));
      }
    }
    EXPECT_LT(worst, 1e-6);  // the same sums, perhaps in another order
    double changed = 0;      // and the later outputs did change
    for (std::size_t i = static_cast<std::size_t>(cut * s.heads * s.head_dim); i < a.out.size(); ++i) {
      changed = std::max(changed, std::abs(double(a.out[i]) - b.out[i]));
    }
    EXPECT_GT(changed, 1e-2);
  }
}

// Work is split into more parts on more threads; each part owns its accumulators, so the result
// matches the reference at any thread count.
TEST(SparseAttention, ResultsDoNotDependOnThreadCount) {
  const Problem p = make_problem(shape_of(1, 180, 2, 1, 16, 64, 8, 4, 2, 2), Globals::random, true, 8);
  const Reference r = reference(p);
  const int saved = core::num_threads();
  for (int threads : {1, 3, 5}) {
    SCOPED_TRACE(threads);
    core::set_num_threads(threads);
    const Outputs o = run(attention_causal_default_isa(), p);
    core::set_num_threads(saved);
    expect_matches(o, r);
  }
}

TEST(SparseAttention, DefaultEntryPointsMatchTheBestIsaAndLseIsOptional) {
  const Problem p = make_problem(shape_of(1, 130, 2, 1, 16, 64, 8, 4, 1, 2), Globals::random, true, 3);
  const Outputs want = run(attention_causal_default_isa(), p);
  const SparseAttentionPlan plan = p.plan.view();
  std::vector<float> out(p.q.size()), lse(want.lse.size()), dq(p.q.size()), dk(p.k.size()), dv(p.k.size());
  sparse_attention_forward(core::DType::f32, p.shape, plan, p.q.data(), p.k.data(), p.v.data(), out.data(),
                           lse.data());
  sparse_attention_backward(core::DType::f32, p.shape, plan, p.q.data(), p.k.data(), p.v.data(), out.data(),
                            lse.data(), p.dout.data(), dq.data(), dk.data(), dv.data(), nullptr);
  EXPECT_EQ(out, want.out);
  EXPECT_EQ(lse, want.lse);
  EXPECT_EQ(dq, want.dq);
  EXPECT_EQ(dk, want.dk);
  EXPECT_EQ(dv, want.dv);
  std::vector<float> out2(p.q.size());
  sparse_attention_forward(core::DType::f32, p.shape, plan, p.q.data(), p.k.data(), p.v.data(), out2.data(),
                           nullptr);
  EXPECT_EQ(out2, want.out);
}

TEST(SparseAttention, RejectsBadDtypesShapesAndPlans) {
  const Shape s = shape_of(1, 130, 2, 1, 8, 64, 4, 2, 1, 2);
  Problem p = make_problem(s, Globals::random, true, 4);
  std::vector<float> out(p.q.size()), lse(static_cast<std::size_t>(s.heads * s.tokens));
  auto forward = [&](const Shape& shape, const OwnedPlan& plan, core::DType dtype = core::DType::f32) {
    sparse_attention_forward(dtype, shape, plan.view(), p.q.data(), p.k.data(), p.v.data(), out.data(), lse.data());
  };
  EXPECT_THROW(forward(s, p.plan, core::DType::bf16), core::Error);
  Shape narrow = s;
  narrow.window = 32;
  EXPECT_THROW(forward(narrow, p.plan), core::Error);
  OwnedPlan future = p.plan;  // block 1's horizon is 64 + 63 - 64 = 63
  future.global_count[1] = 1;
  future.global_keys[static_cast<std::size_t>(1 * s.global_cap)] = 64;
  EXPECT_THROW(forward(s, future), core::Error);
  OwnedPlan bad_bucket = p.plan;
  bad_bucket.query_bucket[5] = static_cast<std::int32_t>(s.buckets);
  EXPECT_THROW(forward(s, bad_bucket), core::Error);
  OwnedPlan bad_rank = p.plan;
  std::swap(bad_rank.key_rank[0], bad_rank.key_rank[1]);
  EXPECT_THROW(forward(s, bad_rank), core::Error);
  EXPECT_NO_THROW(forward(s, p.plan));
}

}  // namespace
}  // namespace sieve::kernels::cpu
