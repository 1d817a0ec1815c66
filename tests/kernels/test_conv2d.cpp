// conv2d kernels: both paths (im2col + GEMM, oneDNN convolutions) on every shape, forward and
// backward, against a double-precision loop; gradients left out when not asked for; batch 0;
// which path each shape gets. Letters: B batch, H W input size, Ci Co channels, KH KW kernel,
// Ho Wo output size.
#include "sieve/kernels/cpu/conv2d.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "sieve/core/error.h"

namespace sieve::kernels::cpu {
namespace {

struct Problem {
  Conv2dShape s;
  std::vector<float> x, w, b, dout;
};

Problem make_problem(const Conv2dShape& s, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Problem p{s, {}, {}, {}, {}};
  p.x.resize(s.batch * s.height * s.width * s.in_channels);
  p.w.resize(s.out_channels * s.kernel_h * s.kernel_w * s.in_channels);
  p.b.resize(s.out_channels);
  p.dout.resize(s.batch * s.out_height() * s.out_width() * s.out_channels);
  for (auto* v : {&p.x, &p.w, &p.b, &p.dout})
    for (float& e : *v) e = dist(rng);
  return p;
}

struct Reference {
  std::vector<double> out, dx, dw, db;
};

// The convolution and the gradients of sum(out · dout), in double, by the definition.
Reference reference(const Problem& p) {
  const Conv2dShape& s = p.s;
  const std::int64_t Ho = s.out_height(), Wo = s.out_width(), Ci = s.in_channels, Co = s.out_channels;
  Reference r;
  r.out.assign(p.dout.size(), 0.0);
  r.dx.assign(p.x.size(), 0.0);
  r.dw.assign(p.w.size(), 0.0);
  r.db.assign(p.b.size(), 0.0);
  for (std::int64_t n = 0; n < s.batch; ++n)
    for (std::int64_t oy = 0; oy < Ho; ++oy)
      for (std::int64_t ox = 0; ox < Wo; ++ox)
        for (std::int64_t co = 0; co < Co; ++co) {
          const std::size_t o = ((n * Ho + oy) * Wo + ox) * Co + co;
          double sum = p.b[co];
          r.db[co] += p.dout[o];
          for (std::int64_t ky = 0; ky < s.kernel_h; ++ky)
            for (std::int64_t kx = 0; kx < s.kernel_w; ++kx) {
              const std::int64_t iy = oy * s.stride_h - s.pad_h + ky, ix = ox * s.stride_w - s.pad_w + kx;
              if (iy < 0 || iy >= s.height || ix < 0 || ix >= s.width) continue;
              for (std::int64_t ci = 0; ci < Ci; ++ci) {
                const std::size_t xi = ((n * s.height + iy) * s.width + ix) * Ci + ci;
                const std::size_t wi = ((co * s.kernel_h + ky) * s.kernel_w + kx) * Ci + ci;
                sum += double(p.x[xi]) * p.w[wi];
                r.dx[xi] += double(p.dout[o]) * p.w[wi];
                r.dw[wi] += double(p.dout[o]) * p.x[xi];
              }
            }
          r.out[o] = sum;
        }
  return r;
}

double scaled_error(const std::vector<float>& got, const std::vector<double>& want) {
  double err = 0, mag = 1e-3;
  for (std::size_t i = 0; i < want.size(); ++i) {
    err = std::max(err, std::abs(got[i] - want[i]));
    if (std::isnan(got[i])) err = INFINITY;
    mag = std::max(mag, std::abs(want[i]));
  }
  return err / mag;
}

Conv2dShape shape(std::int64_t B, std::int64_t H, std::int64_t W, std::int64_t Ci, std::int64_t Co, std::int64_t KH,
                  std::int64_t KW, std::int64_t sh, std::int64_t sw, std::int64_t ph, std::int64_t pw) {
  return Conv2dShape{B, H, W, Ci, Co, KH, KW, sh, sw, ph, pw};
}

TEST(Conv2dKernel, BothPathsMatchReference) {
  const std::vector<std::pair<const char*, Conv2dShape>> cases = {
      {"3x3 s2 p1 Ci 1", shape(3, 13, 11, 1, 8, 3, 3, 2, 2, 1, 1)},
      {"3x3 s1 p1 Ci 5", shape(2, 7, 9, 5, 6, 3, 3, 1, 1, 1, 1)},
      {"patch 4", shape(2, 8, 12, 1, 16, 4, 4, 4, 4, 0, 0)},
      {"patch 7 Ci 2", shape(2, 14, 14, 2, 5, 7, 7, 7, 7, 0, 0)},
      {"1x1", shape(2, 5, 6, 7, 3, 1, 1, 1, 1, 0, 0)},
      {"5x3 s(2,1) p(2,1)", shape(2, 11, 7, 3, 4, 5, 3, 2, 1, 2, 1)},
      {"stride > kernel", shape(1, 9, 9, 2, 3, 2, 2, 3, 3, 0, 0)},
  };
  for (const auto& [name, s] : cases) {
    const Problem p = make_problem(s, 7);
    const Reference r = reference(p);
    for (Conv2dPath path : {Conv2dPath::im2col, Conv2dPath::onednn}) {
      SCOPED_TRACE(std::string(name) + (path == Conv2dPath::im2col ? " im2col" : " onednn"));
      std::vector<float> out(p.dout.size(), 7.0f), dx(p.x.size(), 7.0f), dw(p.w.size(), 7.0f), db(p.b.size(), 7.0f);
      conv2d_forward_path(path, core::DType::f32, s, p.x.data(), p.w.data(), p.b.data(), out.data());
      conv2d_backward_path(path, core::DType::f32, s, p.x.data(), p.w.data(), p.dout.data(), dx.data(), dw.data(),
                           db.data());
      EXPECT_LT(scaled_error(out, r.out), 1e-5);
      EXPECT_LT(scaled_error(dx, r.dx), 1e-5);
      EXPECT_LT(scaled_error(dw, r.dw), 1e-5);
      EXPECT_LT(scaled_error(db, r.db), 1e-5);
      // Without bias, and each gradient alone (the others untouched).
      std::vector<double> no_bias = r.out;
      for (std::size_t i = 0; i < no_bias.size(); ++i) no_bias[i] -= p.b[i % p.b.size()];
      conv2d_forward_path(path, core::DType::f32, s, p.x.data(), p.w.data(), nullptr, out.data());
      EXPECT_LT(scaled_error(out, no_bias), 1e-5);
      std::vector<float> dx2(p.x.size(), 7.0f), dw2(p.w.size(), 7.0f);
      conv2d_backward_path(path, core::DType::f32, s, nullptr, p.w.data(), p.dout.data(), dx2.data(), nullptr, nullptr);
      EXPECT_EQ(dx2, dx);
      conv2d_backward_path(path, core::DType::f32, s, p.x.data(), nullptr, p.dout.data(), nullptr, dw2.data(), nullptr);
      EXPECT_EQ(dw2, dw);
    }
  }
}

// 40 images of 64x64x16 under a 3x3 kernel are 40·4096·144 floats of patches, more than one
// chunk of the im2col path's patch buffer: the chunks' offsets and their dweight sums.
TEST(Conv2dKernel, Im2colSplitsLargeBatchesIntoChunks) {
  const Problem p = make_problem(shape(40, 64, 64, 16, 4, 3, 3, 1, 1, 1, 1), 3);
  const Reference r = reference(p);
  std::vector<float> out(p.dout.size()), dx(p.x.size()), dw(p.w.size()), db(p.b.size());
  conv2d_forward_path(Conv2dPath::im2col, core::DType::f32, p.s, p.x.data(), p.w.data(), p.b.data(), out.data());
  conv2d_backward_path(Conv2dPath::im2col, core::DType::f32, p.s, p.x.data(), p.w.data(), p.dout.data(), dx.data(),
                       dw.data(), db.data());
  EXPECT_LT(scaled_error(out, r.out), 1e-5);
  EXPECT_LT(scaled_error(dx, r.dx), 1e-5);
  EXPECT_LT(scaled_error(dw, r.dw), 1e-5);  // sums of 163840 products: relative to the largest
  EXPECT_LT(scaled_error(db, r.db), 1e-5);
}

TEST(Conv2dKernel, DisjointWindowsTakeIm2colOverlappingOnesOneDnn) {
  EXPECT_EQ(conv2d_default_path(shape(1, 56, 56, 1, 256, 7, 7, 7, 7, 0, 0)), Conv2dPath::im2col);
  EXPECT_EQ(conv2d_default_path(shape(1, 8, 8, 4, 4, 1, 1, 1, 1, 0, 0)), Conv2dPath::im2col);
  EXPECT_EQ(conv2d_default_path(shape(1, 56, 56, 1, 32, 3, 3, 2, 2, 1, 1)), Conv2dPath::onednn);
  EXPECT_EQ(conv2d_default_path(shape(1, 56, 56, 1, 32, 4, 4, 4, 4, 1, 1)), Conv2dPath::onednn);  // padded
}

TEST(Conv2dKernel, EmptyBatchGivesZeroWeightGradients) {
  const Conv2dShape s = shape(0, 5, 5, 2, 3, 3, 3, 1, 1, 1, 1);
  std::vector<float> dw(3 * 3 * 3 * 2, 7.0f), db(3, 7.0f);
  conv2d_forward(core::DType::f32, s, nullptr, nullptr, nullptr, nullptr);
  conv2d_backward(core::DType::f32, s, nullptr, nullptr, nullptr, nullptr, dw.data(), db.data());
  EXPECT_EQ(dw, std::vector<float>(dw.size(), 0.0f));
  EXPECT_EQ(db, std::vector<float>(db.size(), 0.0f));
}

TEST(Conv2dKernel, BadShapesAndDtypesAreRejected) {
  const Problem p = make_problem(shape(1, 5, 5, 2, 3, 3, 3, 1, 1, 0, 0), 1);
  std::vector<float> out(p.dout.size());
  auto forward = [&](const Conv2dShape& s, core::DType dtype = core::DType::f32) {
    conv2d_forward(dtype, s, p.x.data(), p.w.data(), nullptr, out.data());
  };
  EXPECT_THROW(forward(p.s, core::DType::bf16), core::Error);
  EXPECT_THROW(forward(shape(1, 5, 5, 2, 3, 7, 3, 1, 1, 0, 0)), core::Error);  // kernel taller than the input
  EXPECT_THROW(forward(shape(1, 5, 5, 2, 3, 3, 3, 0, 1, 0, 0)), core::Error);  // stride 0
  EXPECT_THROW(forward(shape(1, 5, 5, 2, 3, 3, 3, 1, 1, -1, 0)), core::Error);  // negative padding
}

// The measurement behind conv2d_default_path (docs/multimodal.md): each path's forward and full
// backward (dx, dweight, dbias) on the model's shapes, median of interleaved rounds. Wall time,
// or with SIEVE_BENCH_CPU_TIME=1 the process's CPU time (steadier on a loaded machine when run
// with SIEVE_NUM_THREADS=1). Not a test: run it with
//   build/tests/test_kernels --gtest_also_run_disabled_tests --gtest_filter='*DISABLED_PathTimings'
TEST(Conv2dKernel, DISABLED_PathTimings) {
  const bool cpu_time = std::getenv("SIEVE_BENCH_CPU_TIME") != nullptr;
  auto now_ms = [cpu_time] {
    if (!cpu_time) {
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
    }
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
  };
  const std::vector<std::pair<const char*, Conv2dShape>> cases = {
      {"B64 56x56x1, 3x3 s2 p1 -> 32", shape(64, 56, 56, 1, 32, 3, 3, 2, 2, 1, 1)},
      {"B64 28x28x32, 3x3 s2 p1 -> 64", shape(64, 28, 28, 32, 64, 3, 3, 2, 2, 1, 1)},
      {"B32 100x64x1 (log-mel), 3x3 s2 p1 -> 32", shape(32, 100, 64, 1, 32, 3, 3, 2, 2, 1, 1)},
      {"B64 56x56x1, 7x7 s7 (patch) -> 256", shape(64, 56, 56, 1, 256, 7, 7, 7, 7, 0, 0)},
      {"B64 56x56x1, 4x4 s4 (patch) -> 256", shape(64, 56, 56, 1, 256, 4, 4, 4, 4, 0, 0)},
  };
  std::printf("%s time, median ms of 9 rounds; default path marked *\n", cpu_time ? "CPU" : "wall");
  for (const auto& [name, s] : cases) {
    const Problem p = make_problem(s, 1);
    std::vector<float> out(p.dout.size()), dx(p.x.size()), dw(p.w.size()), db(p.b.size());
    const Conv2dPath paths[] = {Conv2dPath::im2col, Conv2dPath::onednn};
    std::vector<double> forward[2], backward[2];
    for (int round = -1; round < 9; ++round) {  // round -1 warms up (primitive creation)
      for (int i = 0; i < 2; ++i) {
        const double t0 = now_ms();
        conv2d_forward_path(paths[i], core::DType::f32, s, p.x.data(), p.w.data(), p.b.data(), out.data());
        const double t1 = now_ms();
        conv2d_backward_path(paths[i], core::DType::f32, s, p.x.data(), p.w.data(), p.dout.data(), dx.data(), dw.data(),
                             db.data());
        const double t2 = now_ms();
        if (round >= 0) {
          forward[i].push_back(t1 - t0);
          backward[i].push_back(t2 - t1);
        }
      }
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    const int chosen = conv2d_default_path(s) == Conv2dPath::im2col ? 0 : 1;
    std::printf("%-42s im2col%s fwd %7.2f bwd %7.2f | oneDNN conv%s fwd %7.2f bwd %7.2f\n", name,
                chosen == 0 ? "*" : " ", median(forward[0]), median(backward[0]), chosen == 1 ? "*" : " ",
                median(forward[1]), median(backward[1]));
  }
}

}  // namespace
}  // namespace sieve::kernels::cpu
