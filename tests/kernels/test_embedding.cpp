// Embedding gather and its scatter-add backward vs naive references.
// Shape letters: N ids, C channels, V vocab (embedding.h).
#include "sieve/kernels/cpu/embedding.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "reference_checks.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"

namespace sieve::kernels::cpu {
namespace {

using core::DType;
using testing::expect_close;
using testing::random_floats;

TEST(Embedding, ForwardGathersRows) {
  const std::int64_t V = 11, C = 37;
  const std::vector<std::int64_t> ids = {3, 0, 10, 3, 7};
  const auto table = random_floats(V * C, 1);
  std::vector<float> out(ids.size() * C);
  embedding_forward(DType::f32, static_cast<std::int64_t>(ids.size()), C, V, table.data(), ids.data(), out.data());
  for (std::size_t n = 0; n < ids.size(); ++n) {
    for (std::int64_t c = 0; c < C; ++c) EXPECT_EQ(out[n * C + c], table[ids[n] * C + c]) << n << "," << c;
  }
}

TEST(Embedding, BackwardAccumulatesRepeatedIds) {
  for (std::int64_t C : {1, 5, 64, 200}) {
    const std::int64_t V = 9, N = 300;
    std::vector<std::int64_t> ids(N);
    for (std::int64_t n = 0; n < N; ++n) ids[n] = (n * n + 3 * n) % 7;  // ids 0..6 repeat; 7, 8 unused
    const auto dout = random_floats(N * C, 2);
    std::vector<float> dtable(V * C, 0.5f);  // accumulates
    embedding_backward(DType::f32, N, C, V, ids.data(), dout.data(), dtable.data());
    std::vector<double> ref(V * C, 0.5);
    for (std::int64_t n = 0; n < N; ++n) {
      for (std::int64_t c = 0; c < C; ++c) ref[ids[n] * C + c] += dout[n * C + c];
    }
    // ~43 f32 additions per element.
    expect_close(dtable, ref, 1e-5, 1e-5, "dtable C=" + std::to_string(C));
    for (std::int64_t c = 0; c < C; ++c) EXPECT_EQ(dtable[8 * C + c], 0.5f) << "unused row must be untouched";
  }
}

TEST(Embedding, BackwardIndependentOfThreadCount) {
  const std::int64_t V = 50, C = 300, N = 2000;
  std::vector<std::int64_t> ids(N);
  for (std::int64_t n = 0; n < N; ++n) ids[n] = (n * 7919) % V;
  const auto dout = random_floats(N * C, 3);
  const int threads = core::num_threads();
  std::vector<std::vector<float>> results;
  for (int t : {1, 2, 3}) {
    core::set_num_threads(t);
    std::vector<float> dtable(V * C, 0.0f);
    embedding_backward(DType::f32, N, C, V, ids.data(), dout.data(), dtable.data());
    results.push_back(dtable);
  }
  core::set_num_threads(threads);
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}

TEST(Embedding, OutOfRangeIdIsAnErrorNamingIt) {
  const std::int64_t V = 6, C = 4;
  const auto table = random_floats(V * C, 4);
  for (std::int64_t bad : {std::int64_t{6}, std::int64_t{-1}, std::int64_t{1000000}}) {
    const std::vector<std::int64_t> ids = {0, 5, bad};
    std::vector<float> out(ids.size() * C, 7.0f);
    try {
      embedding_forward(DType::f32, 3, C, V, table.data(), ids.data(), out.data());
      FAIL() << "expected an error for id " << bad;
    } catch (const core::Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("id " + std::to_string(bad)), std::string::npos) << message;
      EXPECT_NE(message.find("V=6"), std::string::npos) << message;
    }
    EXPECT_EQ(out, std::vector<float>(ids.size() * C, 7.0f)) << "nothing written before the error";
    std::vector<float> dtable(V * C, 0.0f);
    const auto dout = random_floats(3 * C, 5);
    EXPECT_THROW(embedding_backward(DType::f32, 3, C, V, ids.data(), dout.data(), dtable.data()), core::Error);
    EXPECT_EQ(dtable, std::vector<float>(V * C, 0.0f));
  }
}

TEST(Embedding, UnsupportedDtypeNamesIt) {
  const std::vector<std::int64_t> ids = {0};
  std::vector<float> table(4, 0.0f), out(4);
  try {
    embedding_forward(DType::bf16, 1, 4, 1, table.data(), ids.data(), out.data());
    FAIL() << "expected an error";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bf16"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sieve::kernels::cpu
