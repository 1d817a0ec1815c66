// Quantized linear products (quantized_linear.h) against double-precision references of the
// formats in NOTE [Quantization formats]. Letters: N rows of x, K inputs, M outputs, G group.
// Every product runs through each algorithm (quantized_linear_paths.h), so the GEMV, the f32
// panels and oneDNN's INT8 GEMM are all checked whatever this CPU picks by default.
#include "sieve/kernels/cpu/quantized_linear.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "reference_checks.h"
#include "sieve/core/error.h"
#include "sieve/kernels/cpu/quantized_linear_paths.h"

namespace sieve::kernels::cpu {
namespace {

using detail::QuantizedPath;
using testing::random_floats;

std::string path_name(QuantizedPath path) {
  switch (path) {
    case QuantizedPath::automatic: return "automatic";
    case QuantizedPath::gemv: return "gemv";
    case QuantizedPath::panels: return "panels";
    case QuantizedPath::onednn: return "onednn";
  }
  return "?";
}

// Expects |actual[i] − expected[i]| ≤ bound[i] everywhere; reports the worst element.
void expect_within(const std::vector<float>& actual, const std::vector<double>& expected,
                   const std::vector<double>& bound, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  std::size_t failures = 0, worst = 0;
  double worst_ratio = 0.0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double error = std::abs(static_cast<double>(actual[i]) - expected[i]);
    if (!(error <= bound[i])) {
      const double ratio = std::isnan(error) ? INFINITY : error / bound[i];
      if (failures++ == 0 || ratio > worst_ratio) worst_ratio = ratio, worst = i;
    }
  }
  EXPECT_EQ(failures, 0u) << what << ": worst at [" << worst << "] actual " << actual[worst] << " expected "
                          << expected[worst] << " bound " << bound[worst];
}

// The documented quantizer, in the plainest terms.
std::int8_t reference_quantize(float x, float scale) {
  return static_cast<std::int8_t>(std::clamp(std::round(x / scale), -127.0f, 127.0f));
}

// ---- quantize_rows_int8 -------------------------------------------------------------------------

TEST(QuantizeRowsInt8, MatchesTheDocumentedFormula) {
  for (const std::int64_t cols : {1, 7, 8, 15, 16, 33, 100, 1031}) {
    const std::int64_t rows = 5;
    auto x = random_floats(rows * cols, static_cast<std::uint32_t>(cols), -3.0f, 3.0f);
    std::vector<std::int8_t> q(static_cast<std::size_t>(rows * cols));
    std::vector<float> scales(rows);
    quantize_rows_int8(rows, cols, x.data(), q.data(), scales.data());
    for (std::int64_t r = 0; r < rows; ++r) {
      float amax = 0.0f;
      for (std::int64_t c = 0; c < cols; ++c) amax = std::max(amax, std::abs(x[r * cols + c]));
      ASSERT_EQ(scales[r], amax / 127.0f) << "cols " << cols;
      for (std::int64_t c = 0; c < cols; ++c)
        ASSERT_EQ(q[r * cols + c], reference_quantize(x[r * cols + c], scales[r])) << "cols " << cols << " c " << c;
    }
  }
}

TEST(QuantizeRowsInt8, RoundsHalfAwayFromZero) {
  // max |x| = 127 makes the scale exactly 1, so x / scale is x itself.
  const std::vector<float> x = {127.0f, 0.5f, -0.5f, 1.5f, -2.5f, 126.5f, -126.5f, 0.49999997f,
                                -0.49999997f, 2.4999998f, 3.5f, -3.5f, 0.0f, -0.0f, 64.5f, -64.5f, 1.0f};
  const std::vector<int> expected = {127, 1, -1, 2, -3, 127, -127, 0, 0, 2, 4, -4, 0, 0, 65, -65, 1};
  const auto cols = static_cast<std::int64_t>(x.size());
  std::vector<std::int8_t> q(x.size());
  float scale = 0.0f;
  quantize_rows_int8(1, cols, x.data(), q.data(), &scale);
  EXPECT_EQ(scale, 1.0f);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(q[i], expected[i]) << "x = " << x[i];
}

// A loaded model whose weights hold NaN feeds NaN activations to the INT8 products, and the
// portable code (and every ISA's tail past its vector width) cast the NaN to int8, which is
// undefined (UBSan in fuzz_quantized_model_dir). NaN becomes −127 on every path, as the SIMD
// clamps make it.
TEST(QuantizeRowsInt8, NaNBecomesMinus127OnEveryPath) {
  const std::int64_t cols = 37;  // a tail past 8 and 16 lanes
  std::vector<float> x(cols, 0.25f);
  x[3] = x[36] = std::nanf("");
  std::vector<std::int8_t> q(x.size(), 0);
  float scale = 0.0f;
  quantize_rows_int8(1, cols, x.data(), q.data(), &scale);
  EXPECT_EQ(q[3], -127);
  EXPECT_EQ(q[36], -127);
}

TEST(QuantizeRowsInt8, AllZeroRowsHaveScaleOne) {
  const std::int64_t rows = 3, cols = 37;
  std::vector<float> x(static_cast<std::size_t>(rows * cols), 0.0f);
  x[cols + 5] = -2.0f;  // row 1 is not zero
  std::vector<std::int8_t> q(x.size(), 99);
  std::vector<float> scales(rows);
  quantize_rows_int8(rows, cols, x.data(), q.data(), scales.data());
  EXPECT_EQ(scales[0], 1.0f);
  EXPECT_EQ(scales[2], 1.0f);
  EXPECT_EQ(scales[1], 2.0f / 127.0f);
  EXPECT_EQ(q[cols + 5], -127);
  for (std::int64_t c = 0; c < cols; ++c) {
    EXPECT_EQ(q[c], 0);
    EXPECT_EQ(q[2 * cols + c], 0);
  }
}

TEST(QuantizeRowsInt8, EmptyShapes) {
  quantize_rows_int8(0, 8, nullptr, nullptr, nullptr);
  float scale = 0.0f;
  quantize_rows_int8(1, 0, nullptr, nullptr, &scale);
  EXPECT_EQ(scale, 1.0f);
}

// ---- INT8 products ------------------------------------------------------------------------------

struct Int8Case {
  std::int64_t N, K, M;
};

struct QuantizedWeight {
  std::vector<std::int8_t> q;
  std::vector<float> scales;
};

QuantizedWeight quantize_weight(std::int64_t M, std::int64_t K, const std::vector<float>& w) {
  QuantizedWeight result{std::vector<std::int8_t>(w.size()), std::vector<float>(static_cast<std::size_t>(M))};
  quantize_rows_int8(M, K, w.data(), result.q.data(), result.scales.data());
  return result;
}

// Exact int64 sums of qx·qw, scaled in double: the product int8_linear promises up to the f32
// roundings of its last steps. bound gets 4 f32 roundings of the magnitude.
void int8_reference(const Int8Case& c, const std::vector<std::int8_t>& qx, const std::vector<float>& xscale,
                    const QuantizedWeight& w, const std::vector<float>& bias, std::vector<double>& expected,
                    std::vector<double>& bound) {
  expected.assign(static_cast<std::size_t>(c.N * c.M), 0.0);
  bound.assign(expected.size(), 0.0);
  for (std::int64_t n = 0; n < c.N; ++n)
    for (std::int64_t m = 0; m < c.M; ++m) {
      std::int64_t acc = 0;
      for (std::int64_t k = 0; k < c.K; ++k) acc += std::int64_t{qx[n * c.K + k]} * w.q[m * c.K + k];
      const double product = static_cast<double>(acc) * xscale[n] * w.scales[m];
      const double b = bias.empty() ? 0.0 : bias[m];
      expected[n * c.M + m] = product + b;
      bound[n * c.M + m] = 4.0 * 0x1p-24 * (std::abs(product) + std::abs(b)) + 1e-30;
    }
}

const std::vector<Int8Case> kInt8Cases = {{1, 1, 1},   {1, 37, 5},   {2, 64, 17},   {3, 65, 9},
                                          {4, 100, 33}, {5, 129, 12}, {9, 130, 70},  {16, 31, 130},
                                          {33, 257, 19}, {7, 1500, 23}, {40, 2100, 37}};
const std::vector<QuantizedPath> kInt8Paths = {QuantizedPath::automatic, QuantizedPath::gemv, QuantizedPath::panels,
                                               QuantizedPath::onednn};

TEST(QuantizedInt8Linear, DynamicActivationsAreExactIntegerProducts) {
  for (const Int8Case& c : kInt8Cases) {
    const auto x = random_floats(c.N * c.K, 11, -2.0f, 2.0f);
    const auto wf = random_floats(c.M * c.K, 12, -0.5f, 0.5f);
    const auto bias = random_floats(c.M, 13);
    const QuantizedWeight w = quantize_weight(c.M, c.K, wf);
    const Int8Weight weight(c.M, c.K, w.q.data(), w.scales.data());
    EXPECT_EQ(weight.out_features(), c.M);
    EXPECT_EQ(weight.in_features(), c.K);
    std::vector<std::int8_t> qx(x.size());
    std::vector<float> xscale(static_cast<std::size_t>(c.N));
    quantize_rows_int8(c.N, c.K, x.data(), qx.data(), xscale.data());
    for (const bool with_bias : {false, true}) {
      std::vector<double> expected, bound;
      int8_reference(c, qx, xscale, w, with_bias ? bias : std::vector<float>{}, expected, bound);
      for (const QuantizedPath path : kInt8Paths) {
        std::vector<float> y(static_cast<std::size_t>(c.N * c.M), NAN);
        detail::int8_linear(path, c.N, x.data(), Int8Activation{}, weight, with_bias ? bias.data() : nullptr,
                            y.data());
        expect_within(y, expected, bound,
                      "N=" + std::to_string(c.N) + " K=" + std::to_string(c.K) + " M=" + std::to_string(c.M) +
                          " bias=" + std::to_string(with_bias) + " " + path_name(path));
      }
    }
  }
}

TEST(QuantizedInt8Linear, StaticActivationScaleSaturates) {
  const Int8Case c{6, 70, 21};
  const auto x = random_floats(c.N * c.K, 21, -4.0f, 4.0f);
  const QuantizedWeight w = quantize_weight(c.M, c.K, random_floats(c.M * c.K, 22));
  const Int8Weight weight(c.M, c.K, w.q.data(), w.scales.data());
  // 127 · scale = 2.54: about a third of x saturates.
  const Int8Activation activation{false, 0.02f};
  std::vector<std::int8_t> qx(x.size());
  std::size_t saturated = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    qx[i] = reference_quantize(x[i], activation.static_scale);
    saturated += std::abs(qx[i]) == 127;
  }
  ASSERT_GT(saturated, x.size() / 5);
  const std::vector<float> xscale(static_cast<std::size_t>(c.N), activation.static_scale);
  std::vector<double> expected, bound;
  int8_reference(c, qx, xscale, w, {}, expected, bound);
  for (const QuantizedPath path : kInt8Paths) {
    std::vector<float> y(static_cast<std::size_t>(c.N * c.M), NAN);
    detail::int8_linear(path, c.N, x.data(), activation, weight, nullptr, y.data());
    expect_within(y, expected, bound, "static " + path_name(path));
  }
}

// Against the f32 product: each element of x is off by at most xscale/2 and each weight by at
// most wscale/2, which bounds the error of the sum.
TEST(QuantizedInt8Linear, CloseToTheFloatProduct) {
  const Int8Case c{12, 300, 50};
  const auto x = random_floats(c.N * c.K, 31);
  const auto wf = random_floats(c.M * c.K, 32, -0.2f, 0.2f);
  const QuantizedWeight w = quantize_weight(c.M, c.K, wf);
  const Int8Weight weight(c.M, c.K, w.q.data(), w.scales.data());
  std::vector<float> y(static_cast<std::size_t>(c.N * c.M));
  int8_linear(c.N, x.data(), Int8Activation{}, weight, nullptr, y.data());
  std::vector<double> expected(y.size()), bound(y.size());
  for (std::int64_t n = 0; n < c.N; ++n) {
    double xmax = 0.0;
    for (std::int64_t k = 0; k < c.K; ++k) xmax = std::max(xmax, std::abs(double{x[n * c.K + k]}));
    const double xscale = xmax / 127.0;
    for (std::int64_t m = 0; m < c.M; ++m) {
      double sum = 0.0, slack = 0.0;
      for (std::int64_t k = 0; k < c.K; ++k) {
        const double xv = x[n * c.K + k], wv = wf[m * c.K + k];
        sum += xv * wv;
        slack += std::abs(xv) * w.scales[m] / 2.0 + (std::abs(wv) + w.scales[m] / 2.0) * xscale / 2.0;
      }
      expected[n * c.M + m] = sum;
      bound[n * c.M + m] = slack;
    }
  }
  expect_within(y, expected, bound, "vs f32");
}

TEST(QuantizedInt8Linear, EmptyShapes) {
  const std::vector<std::int8_t> q(12, 1);
  const std::vector<float> scales(3, 0.5f);
  const Int8Weight weight(3, 4, q.data(), scales.data());
  int8_linear(0, nullptr, Int8Activation{}, weight, nullptr, nullptr);  // N = 0 writes nothing

  const Int8Weight no_inputs(3, 0, nullptr, scales.data());
  const std::vector<float> bias = {1.0f, 2.0f, 3.0f};
  std::vector<float> y(6, NAN);
  int8_linear(2, nullptr, Int8Activation{}, no_inputs, bias.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{1, 2, 3, 1, 2, 3}));
}

TEST(QuantizedInt8Linear, RejectsABadStaticScale) {
  const std::vector<std::int8_t> q(4, 1);
  const std::vector<float> scales(1, 1.0f), x(4, 1.0f);
  const Int8Weight weight(1, 4, q.data(), scales.data());
  float y = 0.0f;
  EXPECT_THROW(int8_linear(1, x.data(), Int8Activation{false, 0.0f}, weight, nullptr, &y), core::Error);
}

// ---- INT4 ---------------------------------------------------------------------------------------

// ŵ [M, K] from the packed format, read the way NOTE [Quantization formats] describes it.
std::vector<double> unpack_int4(std::int64_t M, std::int64_t K, std::int64_t G, const std::vector<std::uint8_t>& packed,
                                const std::vector<float>& scales) {
  const std::int64_t row_bytes = (K + 1) / 2, groups = (K + G - 1) / G;
  std::vector<double> w(static_cast<std::size_t>(M * K));
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t k = 0; k < K; ++k) {
      const std::uint8_t byte = packed[m * row_bytes + k / 2];
      const int nibble = k % 2 == 0 ? byte & 15 : byte >> 4;
      w[m * K + k] = double{scales[m * groups + k / G]} * (nibble - 8);
    }
  return w;
}

struct Int4Case {
  std::int64_t N, M, K, G;
};

TEST(QuantizedInt4, PackingRoundTrips) {
  for (const Int4Case& c : std::vector<Int4Case>{{0, 3, 1, 32}, {0, 4, 31, 32}, {0, 5, 33, 32}, {0, 6, 200, 64},
                                                 {0, 2, 257, 128}, {0, 3, 96, 96}, {0, 2, 0, 32}}) {
    auto w = random_floats(c.M * c.K, static_cast<std::uint32_t>(c.K), -2.0f, 2.0f);
    if (c.K >= 64) std::fill(w.begin(), w.begin() + c.G, 0.0f);  // an all-zero group
    const std::int64_t row_bytes = (c.K + 1) / 2, groups = (c.K + c.G - 1) / c.G;
    std::vector<std::uint8_t> packed(static_cast<std::size_t>(c.M * row_bytes));
    std::vector<float> scales(static_cast<std::size_t>(c.M * groups));
    quantize_int4(c.M, c.K, c.G, w.data(), packed.data(), scales.data());
    const auto unpacked = unpack_int4(c.M, c.K, c.G, packed, scales);
    const std::string what = "K=" + std::to_string(c.K) + " G=" + std::to_string(c.G);
    for (std::int64_t m = 0; m < c.M; ++m) {
      for (std::int64_t g = 0; g < groups; ++g) {
        float amax = 0.0f;
        for (std::int64_t k = g * c.G; k < std::min(c.K, (g + 1) * c.G); ++k) amax = std::max(amax, std::abs(w[m * c.K + k]));
        EXPECT_EQ(scales[m * groups + g], amax > 0.0f ? amax / 7.0f : 1.0f) << what;
      }
      for (std::int64_t k = 0; k < c.K; ++k) {
        const std::uint8_t byte = packed[m * row_bytes + k / 2];
        const int nibble = k % 2 == 0 ? byte & 15 : byte >> 4;
        EXPECT_GE(nibble, 1) << what;
        const float scale = scales[m * groups + k / c.G];
        EXPECT_EQ(nibble - 8, static_cast<int>(std::clamp(std::round(w[m * c.K + k] / scale), -7.0f, 7.0f))) << what;
        EXPECT_LE(std::abs(unpacked[m * c.K + k] - w[m * c.K + k]), scale / 2.0 * (1 + 1e-6)) << what;
      }
      if (c.K % 2 == 1) {
        EXPECT_EQ(packed[m * row_bytes + row_bytes - 1] >> 4, 8) << what;
      }
    }
  }
}

TEST(QuantizedInt4Linear, MatchesTheDequantizedProduct) {
  const std::vector<Int4Case> cases = {{1, 1, 1, 32},    {1, 5, 31, 32},    {2, 7, 33, 32},   {3, 9, 127, 64},
                                       {4, 13, 200, 128}, {5, 16, 96, 96},   {9, 40, 257, 64}, {1, 33, 1000, 128},
                                       {20, 70, 300, 32}, {1, 130, 64, 32},  {2, 3, 17, 128},  {64, 45, 129, 32}};
  for (const Int4Case& c : cases) {
    const auto x = random_floats(c.N * c.K, 41);
    const auto wf = random_floats(c.M * c.K, 42, -0.3f, 0.3f);
    const auto bias = random_floats(c.M, 43);
    const std::int64_t row_bytes = (c.K + 1) / 2, groups = (c.K + c.G - 1) / c.G;
    std::vector<std::uint8_t> packed(static_cast<std::size_t>(c.M * row_bytes));
    std::vector<float> scales(static_cast<std::size_t>(c.M * groups));
    quantize_int4(c.M, c.K, c.G, wf.data(), packed.data(), scales.data());
    const auto w = unpack_int4(c.M, c.K, c.G, packed, scales);
    for (const bool with_bias : {false, true}) {
      // f32 sums of K terms: a bound of K roundings is loose, 8 √K of them typical. The GEMV sums
      // nibble·x (nibble up to 15) and takes 8·Σx off per group, so its terms are scale·16·|x|.
      std::vector<double> expected(static_cast<std::size_t>(c.N * c.M)), bound(expected.size());
      for (std::int64_t n = 0; n < c.N; ++n)
        for (std::int64_t m = 0; m < c.M; ++m) {
          double sum = with_bias ? bias[m] : 0.0, magnitude = with_bias ? std::abs(bias[m]) : 0.0;
          for (std::int64_t k = 0; k < c.K; ++k) {
            sum += x[n * c.K + k] * w[m * c.K + k];
            magnitude += std::abs(x[n * c.K + k]) * (std::abs(w[m * c.K + k]) + 16.0 * scales[m * groups + k / c.G]);
          }
          expected[n * c.M + m] = sum;
          bound[n * c.M + m] = 8.0 * std::sqrt(static_cast<double>(c.K) + 1) * 0x1p-24 * magnitude + 1e-30;
        }
      for (const QuantizedPath path : {QuantizedPath::automatic, QuantizedPath::gemv, QuantizedPath::panels}) {
        std::vector<float> y(expected.size(), NAN);
        detail::int4_linear(path, c.N, c.M, c.K, c.G, x.data(), packed.data(), scales.data(),
                            with_bias ? bias.data() : nullptr, y.data());
        expect_within(y, expected, bound,
                      "N=" + std::to_string(c.N) + " M=" + std::to_string(c.M) + " K=" + std::to_string(c.K) +
                          " G=" + std::to_string(c.G) + " bias=" + std::to_string(with_bias) + " " + path_name(path));
      }
    }
  }
}

TEST(QuantizedInt4Linear, EmptyShapesAndBadGroups) {
  int4_linear(0, 3, 64, 32, nullptr, nullptr, nullptr, nullptr, nullptr);
  const std::vector<float> bias = {1.0f, -1.0f};
  std::vector<float> y(4, NAN);
  int4_linear(2, 2, 0, 32, nullptr, nullptr, nullptr, bias.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{1, -1, 1, -1}));

  const std::vector<float> w(64, 1.0f);
  std::vector<std::uint8_t> packed(32);
  std::vector<float> scales(2);
  for (const std::int64_t G : {0, 16, 48 + 1, 160, 256})
    EXPECT_THROW(quantize_int4(1, 64, G, w.data(), packed.data(), scales.data()), core::Error) << G;
  EXPECT_THROW(int4_linear(1, 1, 64, 40, w.data(), packed.data(), scales.data(), nullptr, y.data()), core::Error);
}

}  // namespace
}  // namespace sieve::kernels::cpu
