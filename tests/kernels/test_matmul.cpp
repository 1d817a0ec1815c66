// matmul vs a naive double-precision reference. Shape letters: B batch, M, N, K as in matmul.h.
#include "sieve/kernels/cpu/matmul.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string_view>
#include <thread>
#include <vector>

#include "sieve/core/cpu_features.h"
#include "sieve/core/dtype.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"

namespace sieve::kernels::cpu {
namespace {

using core::DType;

std::vector<float> random_values(std::int64_t count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> values(static_cast<std::size_t>(count));
  for (float& v : values) v = dist(rng);
  return values;
}

// C[b, i, j] (+)= sum_p op(A)[b, i, p] * op(B)[b, p, j], in double.
std::vector<double> reference(const MatmulSpec& s, const std::vector<float>& a, const std::vector<float>& b,
                              const std::vector<float>& c_before) {
  std::vector<double> c(static_cast<std::size_t>(s.batch * s.m * s.n));
  for (std::int64_t bi = 0; bi < s.batch; ++bi) {
    const float* ab = a.data() + bi * s.m * s.k;
    const float* bb = b.data() + (s.broadcast_b ? 0 : bi * s.k * s.n);
    for (std::int64_t i = 0; i < s.m; ++i) {
      for (std::int64_t j = 0; j < s.n; ++j) {
        double acc = s.accumulate ? c_before[static_cast<std::size_t>((bi * s.m + i) * s.n + j)] : 0.0;
        for (std::int64_t p = 0; p < s.k; ++p) {
          const double av = s.trans_a ? ab[p * s.m + i] : ab[i * s.k + p];
          const double bv = s.trans_b ? bb[j * s.k + p] : bb[p * s.n + j];
          acc += av * bv;
        }
        c[static_cast<std::size_t>((bi * s.m + i) * s.n + j)] = acc;
      }
    }
  }
  return c;
}

// Runs an f32 matmul and compares with the reference; tolerance scales with sqrt(K).
void check_f32(const MatmulSpec& spec) {
  const std::int64_t b_batch = spec.broadcast_b ? 1 : spec.batch;
  const auto a = random_values(spec.batch * spec.m * spec.k, 1);
  const auto b = random_values(b_batch * spec.k * spec.n, 2);
  auto c = random_values(spec.batch * spec.m * spec.n, 3);
  const auto expected = reference(spec, a, b, c);
  matmul(spec, a.data(), b.data(), c.data());
  const double tolerance = 1e-5 * std::sqrt(static_cast<double>(spec.k) + 1.0) * 4;
  for (std::size_t i = 0; i < c.size(); ++i)
    ASSERT_NEAR(c[i], expected[i], tolerance) << "at " << i << " B=" << spec.batch << " M=" << spec.m
                                              << " N=" << spec.n << " K=" << spec.k;
}

TEST(Matmul, AllTransposeCombinationsOddSizes) {
  for (bool trans_a : {false, true})
    for (bool trans_b : {false, true}) {
      MatmulSpec spec;
      spec.m = 37;
      spec.n = 23;
      spec.k = 51;
      spec.trans_a = trans_a;
      spec.trans_b = trans_b;
      SCOPED_TRACE(::testing::Message() << "trans_a=" << trans_a << " trans_b=" << trans_b);
      check_f32(spec);
    }
}

TEST(Matmul, BatchedAllTransposes) {
  for (bool trans_a : {false, true})
    for (bool trans_b : {false, true}) {
      MatmulSpec spec;
      spec.batch = 3;
      spec.m = 17;
      spec.n = 9;
      spec.k = 33;
      spec.trans_a = trans_a;
      spec.trans_b = trans_b;
      SCOPED_TRACE(::testing::Message() << "trans_a=" << trans_a << " trans_b=" << trans_b);
      check_f32(spec);
    }
}

TEST(Matmul, BroadcastBAllTransposes) {
  // Covers both the batch-folded path (no trans_a) and the batched-with-broadcast path.
  for (bool trans_a : {false, true})
    for (bool trans_b : {false, true}) {
      MatmulSpec spec;
      spec.batch = 4;
      spec.m = 13;
      spec.n = 19;
      spec.k = 29;
      spec.broadcast_b = true;
      spec.trans_a = trans_a;
      spec.trans_b = trans_b;
      SCOPED_TRACE(::testing::Message() << "trans_a=" << trans_a << " trans_b=" << trans_b);
      check_f32(spec);
    }
}

TEST(Matmul, AccumulateAddsToExistingC) {
  for (bool broadcast_b : {false, true})
    for (bool trans_b : {false, true}) {
      MatmulSpec spec;
      spec.batch = 2;
      spec.m = 31;
      spec.n = 7;
      spec.k = 64;
      spec.accumulate = true;
      spec.broadcast_b = broadcast_b;
      spec.trans_b = trans_b;
      check_f32(spec);
    }
}

TEST(Matmul, LargerSquareAndSkinnyShapes) {
  MatmulSpec spec;
  spec.m = 129;
  spec.n = 130;
  spec.k = 131;
  check_f32(spec);
  spec.m = 1;  // A single row: a matrix-vector product.
  spec.n = 257;
  spec.k = 300;
  spec.trans_b = true;
  check_f32(spec);
  spec.m = 200;
  spec.n = 1;
  spec.k = 1;
  check_f32(spec);
}

TEST(Matmul, RepeatedCallsReuseCachedPrimitiveCorrectly) {
  MatmulSpec spec;
  spec.m = 16;
  spec.n = 16;
  spec.k = 16;
  for (int i = 0; i < 3; ++i) check_f32(spec);
}

TEST(Matmul, ConcurrentCallersGetCorrectResults) {
  MatmulSpec spec;
  spec.batch = 2;
  spec.m = 48;
  spec.n = 40;
  spec.k = 56;
  spec.trans_b = true;
  const auto a = random_values(spec.batch * spec.m * spec.k, 11);
  const auto b = random_values(spec.batch * spec.k * spec.n, 12);
  const auto expected = reference(spec, a, b, {});
  std::vector<std::vector<float>> outputs(4, std::vector<float>(expected.size()));
  std::vector<std::thread> threads;
  for (auto& out : outputs)
    threads.emplace_back([&, ptr = out.data()] {
      for (int rep = 0; rep < 5; ++rep) matmul(spec, a.data(), b.data(), ptr);
    });
  for (auto& t : threads) t.join();
  for (const auto& out : outputs)
    for (std::size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], expected[i], 1e-4);
}

TEST(Matmul, RunsOnCoreThreadCountFromAnyThread) {
  // core::set_num_threads changes only the calling thread's OpenMP setting; a GEMM issued from
  // another thread must still run on core::num_threads() threads.
  const int saved = core::num_threads();
  core::set_num_threads(1);
  int omp_threads_after = -1;
  std::thread worker([&] {
    MatmulSpec spec;
    spec.m = spec.n = spec.k = 8;
    std::vector<float> a(64, 1.0f), b(64, 1.0f), c(64);
    matmul(spec, a.data(), b.data(), c.data());
    omp_threads_after = omp_get_max_threads();
    EXPECT_EQ(c[0], 8.0f);
  });
  worker.join();
  core::set_num_threads(saved);
  EXPECT_EQ(omp_threads_after, 1);
  check_f32(MatmulSpec{.m = 9, .n = 10, .k = 11});  // and back on the restored count
}

TEST(Matmul, ZeroKZeroesOrKeepsC) {
  MatmulSpec spec;
  spec.m = 3;
  spec.n = 4;
  spec.k = 0;
  std::vector<float> c(12, 5.0f);
  matmul(spec, nullptr, nullptr, c.data());
  for (float v : c) EXPECT_EQ(v, 0.0f);
  std::fill(c.begin(), c.end(), 5.0f);
  spec.accumulate = true;
  matmul(spec, nullptr, nullptr, c.data());
  for (float v : c) EXPECT_EQ(v, 5.0f);
}

std::vector<std::uint16_t> to_bf16(const std::vector<float>& values) {
  std::vector<std::uint16_t> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = core::f32_to_bf16_bits(values[i]);
  return out;
}

std::vector<float> bf16_rounded(const std::vector<float>& values) {
  std::vector<float> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = core::bf16_bits_to_f32(core::f32_to_bf16_bits(values[i]));
  return out;
}

TEST(Matmul, Bf16InputsF32AndBf16Outputs) {
  for (DType c_dtype : {DType::f32, DType::bf16})
    for (bool trans_a : {false, true})
      for (bool trans_b : {false, true})
        for (bool accumulate : {false, true}) {
          MatmulSpec spec;
          spec.a_dtype = spec.b_dtype = DType::bf16;
          spec.c_dtype = c_dtype;
          spec.batch = 2;
          spec.m = 21;
          spec.n = 18;
          spec.k = 40;
          spec.trans_a = trans_a;
          spec.trans_b = trans_b;
          spec.accumulate = accumulate;
          SCOPED_TRACE(::testing::Message() << "c=" << core::dtype_name(c_dtype) << " trans_a=" << trans_a
                                            << " trans_b=" << trans_b << " accumulate=" << accumulate);
          // The reference sees exactly the bf16-rounded inputs the kernel sees.
          const auto a = bf16_rounded(random_values(spec.batch * spec.m * spec.k, 4));
          const auto b = bf16_rounded(random_values(spec.batch * spec.k * spec.n, 5));
          const auto c0 = bf16_rounded(random_values(spec.batch * spec.m * spec.n, 6));
          const auto expected = reference(spec, a, b, c0);
          const auto a16 = to_bf16(a), b16 = to_bf16(b);
          std::vector<float> c(c0.size());
          if (c_dtype == DType::f32) {
            c = c0;
            matmul(spec, a16.data(), b16.data(), c.data());
          } else {
            auto c16 = to_bf16(c0);
            matmul(spec, a16.data(), b16.data(), c16.data());
            for (std::size_t i = 0; i < c.size(); ++i) c[i] = core::bf16_bits_to_f32(c16[i]);
          }
          for (std::size_t i = 0; i < c.size(); ++i)
            ASSERT_NEAR(c[i], expected[i], 1e-2 * (1.0 + std::abs(expected[i]))) << "at " << i;
        }
}

// Whether oneDNN has a bf16 GEMM here or the operands are widened to f32 (AVX2, or oneDNN capped
// by ONEDNN_MAX_CPU_ISA), a bf16 product is the f32 GEMM of the rounded operands up to summation
// order: products of bf16 values are exact in f32 and the sums accumulate in f32.
TEST(Matmul, Bf16ProductsEqualTheF32ProductOfTheRoundedOperands) {
  for (bool broadcast_b : {false, true}) {
    MatmulSpec spec;
    spec.a_dtype = spec.b_dtype = DType::bf16;
    spec.batch = 3;
    spec.m = 33;
    spec.n = 70;
    spec.k = 257;
    spec.trans_b = true;
    spec.broadcast_b = broadcast_b;
    SCOPED_TRACE(::testing::Message() << "broadcast_b=" << broadcast_b
                                      << " native bf16 GEMM=" << matmul_bf16_is_native());
    const std::int64_t b_batch = broadcast_b ? 1 : spec.batch;
    const auto a = bf16_rounded(random_values(spec.batch * spec.m * spec.k, 7));
    const auto b = bf16_rounded(random_values(b_batch * spec.k * spec.n, 8));
    const auto a16 = to_bf16(a), b16 = to_bf16(b);
    std::vector<float> bf16_result(static_cast<std::size_t>(spec.batch * spec.m * spec.n));
    matmul(spec, a16.data(), b16.data(), bf16_result.data());
    MatmulSpec f32_spec = spec;
    f32_spec.a_dtype = f32_spec.b_dtype = DType::f32;
    std::vector<float> f32_result(bf16_result.size());
    matmul(f32_spec, a.data(), b.data(), f32_result.data());
    const double tolerance = 1e-6 * std::sqrt(static_cast<double>(spec.k)) * 8;
    for (std::size_t i = 0; i < f32_result.size(); ++i)
      ASSERT_NEAR(bf16_result[i], f32_result[i], tolerance) << "at " << i;
  }
}

TEST(Matmul, Bf16IsWidenedWhereOneDnnHasNoBf16Gemm) {
  // oneDNN's bf16 GEMM needs AVX-512: a CPU without it, or oneDNN capped below it (as `make
  // test`'s ISA runs do), widens.
  const char* onednn_cap = std::getenv("ONEDNN_MAX_CPU_ISA");
  const bool onednn_capped = onednn_cap != nullptr && (std::string_view(onednn_cap) == "AVX2" ||
                                                       std::string_view(onednn_cap) == "SSE41");
  const bool cpu_lacks_avx512 = std::getenv("SIEVE_ISA") == nullptr && !core::cpu_features().avx512f;
  if (!onednn_capped && !cpu_lacks_avx512) GTEST_SKIP() << "oneDNN may have a bf16 GEMM on this CPU";
  EXPECT_FALSE(matmul_bf16_is_native());
}

TEST(Matmul, RejectsUnsupportedDtypes) {
  MatmulSpec spec;
  spec.m = spec.n = spec.k = 2;
  float buffer[4] = {};
  spec.a_dtype = DType::f16;
  spec.b_dtype = DType::f16;
  EXPECT_THROW(matmul(spec, buffer, buffer, buffer), core::Error);
  spec.a_dtype = DType::f32;
  spec.b_dtype = DType::bf16;
  EXPECT_THROW(matmul(spec, buffer, buffer, buffer), core::Error);
  spec.b_dtype = DType::f32;
  spec.c_dtype = DType::i32;
  EXPECT_THROW(matmul(spec, buffer, buffer, buffer), core::Error);
}

}  // namespace
}  // namespace sieve::kernels::cpu
