// NHWC conv2d: path choice, and the im2col path — im2col + GEMM (forward, dweight) and GEMM +
// col2im (dx). The oneDNN-convolution path is conv2d_onednn.cpp.
//
// Letters: B batch, H W input size, Ci Co channels, KH KW kernel, Ho Wo output size,
// P = Ho·Wo output pixels per image, K = KH·KW·Ci, rows = images of a chunk · P.
//
// The patch matrix cols [rows, K] is built for a chunk of images at a time, so its memory stays
// bounded (kChunkFloats) whatever B is; the backward rebuilds it from x rather than keeping it.
// A 1×1 kernel with stride 1 and no padding needs no copy: x already is cols. The GEMMs are
// oneDNN's (matmul.h), which picks its AVX-512 / AVX2 / SSE4.1 kernels at run time, as do its
// convolutions, so neither path has per-ISA variants of its own: im2col and col2im are copies.
#include "sieve/kernels/cpu/conv2d.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "sieve/core/allocator.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/conv2d_onednn.h"
#include "sieve/kernels/cpu/matmul.h"

namespace sieve::kernels::cpu {
namespace {

using std::int64_t;

// Upper bound on one chunk's patch matrix: 8 Mi floats (32 MiB), unless a single image needs more.
constexpr int64_t kChunkFloats = int64_t{8} << 20;

struct Conv2dGeometry {
  explicit Conv2dGeometry(const Conv2dShape& s)
      : s(s), ho(s.out_height()), wo(s.out_width()), pixels(ho * wo),
        patch(s.kernel_h * s.kernel_w * s.in_channels),
        direct(s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 &&
               s.pad_w == 0),
        chunk_images(std::clamp<int64_t>(kChunkFloats / std::max<int64_t>(1, pixels * patch), 1,
                                         std::max<int64_t>(1, s.batch))) {}

  const Conv2dShape s;
  const int64_t ho, wo, pixels, patch;
  const bool direct;          // cols == x
  const int64_t chunk_images;
  int64_t image_floats() const { return s.height * s.width * s.in_channels; }
};

void check(core::DType dtype, const Conv2dShape& s, const char* what) {
  SIEVE_CHECK(dtype == core::DType::f32, "conv2d_{}: dtype {} is not implemented (only f32 is)", what,
              core::dtype_name(dtype));
  SIEVE_CHECK(s.batch >= 0 && s.height > 0 && s.width > 0 && s.in_channels > 0 && s.out_channels > 0,
              "conv2d: sizes must be positive (batch >= 0): batch {}, height {}, width {}, in_channels {}, "
              "out_channels {}",
              s.batch, s.height, s.width, s.in_channels, s.out_channels);
  SIEVE_CHECK(s.kernel_h > 0 && s.kernel_w > 0 && s.stride_h > 0 && s.stride_w > 0 && s.pad_h >= 0 && s.pad_w >= 0,
              "conv2d: kernel {}x{} and stride {}x{} must be positive, padding {}x{} non-negative", s.kernel_h,
              s.kernel_w, s.stride_h, s.stride_w, s.pad_h, s.pad_w);
  SIEVE_CHECK(s.height + 2 * s.pad_h >= s.kernel_h && s.width + 2 * s.pad_w >= s.kernel_w,
              "conv2d: kernel {}x{} is larger than the padded input {}x{}", s.kernel_h, s.kernel_w,
              s.height + 2 * s.pad_h, s.width + 2 * s.pad_w);
}

// cols [images·P, K] of images [0, images) of x (already offset to the chunk's first image):
// cols[(i·P + oy·Wo + ox)·K + (ky·KW + kx)·Ci + ci] = x[i, oy·sh − ph + ky, ox·sw − pw + kx, ci], 0 outside.
// For one (oy, ox, ky) the kx·Ci run is contiguous in x, so it is one copy plus zero fills at the edges.
void im2col(const Conv2dGeometry& g, const float* x, int64_t images, float* cols) {
  const Conv2dShape& s = g.s;
  const int64_t Ci = s.in_channels, run = s.kernel_w * Ci;
  core::parallel_for(images * g.ho, 8, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t i = r / g.ho, oy = r % g.ho;
      const float* image = x + i * g.image_floats();
      for (int64_t ox = 0; ox < g.wo; ++ox) {
        float* dst = cols + ((i * g.ho + oy) * g.wo + ox) * g.patch;
        const int64_t ix0 = ox * s.stride_w - s.pad_w;
        const int64_t kx_begin = std::max<int64_t>(0, -ix0), kx_end = std::min(s.kernel_w, s.width - ix0);
        for (int64_t ky = 0; ky < s.kernel_h; ++ky, dst += run) {
          const int64_t iy = oy * s.stride_h - s.pad_h + ky;
          if (iy < 0 || iy >= s.height || kx_begin >= kx_end) {
            std::memset(dst, 0, sizeof(float) * static_cast<std::size_t>(run));
            continue;
          }
          std::memset(dst, 0, sizeof(float) * static_cast<std::size_t>(kx_begin * Ci));
          std::memcpy(dst + kx_begin * Ci, image + (iy * s.width + ix0 + kx_begin) * Ci,
                      sizeof(float) * static_cast<std::size_t>((kx_end - kx_begin) * Ci));
          std::memset(dst + kx_end * Ci, 0, sizeof(float) * static_cast<std::size_t>((s.kernel_w - kx_end) * Ci));
        }
      }
    }
  });
}

// dx[i] = Σ over the patches that read each input pixel of dcols (the adjoint of im2col), for
// images [0, images). Each image is one thread's: the patches of one image overlap, those of
// two images never do, so no writes race.
void col2im(const Conv2dGeometry& g, const float* dcols, int64_t images, float* dx) {
  const Conv2dShape& s = g.s;
  const int64_t Ci = s.in_channels;
  core::parallel_for(images, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float* image = dx + i * g.image_floats();
      std::memset(image, 0, sizeof(float) * static_cast<std::size_t>(g.image_floats()));
      for (int64_t oy = 0; oy < g.ho; ++oy) {
        for (int64_t ox = 0; ox < g.wo; ++ox) {
          const float* src = dcols + ((i * g.ho + oy) * g.wo + ox) * g.patch;
          const int64_t ix0 = ox * s.stride_w - s.pad_w;
          const int64_t kx_begin = std::max<int64_t>(0, -ix0), kx_end = std::min(s.kernel_w, s.width - ix0);
          for (int64_t ky = 0; ky < s.kernel_h; ++ky, src += s.kernel_w * Ci) {
            const int64_t iy = oy * s.stride_h - s.pad_h + ky;
            if (iy < 0 || iy >= s.height) continue;
            float* row = image + (iy * s.width + ix0) * Ci;
            for (int64_t e = kx_begin * Ci; e < kx_end * Ci; ++e) row[e] += src[e];
          }
        }
      }
    }
  });
}

// Scratch floats from the caching allocator (cols is the same size every training step).
class Scratch {
 public:
  explicit Scratch(int64_t floats)
      : bytes_(static_cast<std::size_t>(std::max<int64_t>(1, floats)) * sizeof(float)),
        data_(static_cast<float*>(core::allocator().allocate(bytes_))) {}
  ~Scratch() { core::allocator().release(data_, bytes_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  float* data() const { return data_; }

 private:
  std::size_t bytes_;
  float* data_;
};

void im2col_forward(const Conv2dShape& shape, const void* x, const void* weight, const void* bias, void* out) {
  const Conv2dGeometry g(shape);
  const int64_t Co = shape.out_channels;
  const auto* xf = static_cast<const float*>(x);
  const auto* bf = static_cast<const float*>(bias);
  auto* of = static_cast<float*>(out);
  Scratch cols(g.direct ? 0 : g.chunk_images * g.pixels * g.patch);
  for (int64_t b0 = 0; b0 < shape.batch; b0 += g.chunk_images) {
    const int64_t images = std::min(g.chunk_images, shape.batch - b0);
    const int64_t rows = images * g.pixels;
    const float* a = xf + b0 * g.image_floats();
    if (!g.direct) {
      im2col(g, a, images, cols.data());
      a = cols.data();
    }
    float* o = of + b0 * g.pixels * Co;  // [rows, Co]
    if (bf != nullptr) {
      for (int64_t r = 0; r < rows; ++r) std::memcpy(o + r * Co, bf, sizeof(float) * static_cast<std::size_t>(Co));
    }
    MatmulSpec spec;  // o [rows, Co] (+)= cols [rows, K] · weight [Co, K]ᵀ
    spec.m = rows;
    spec.n = Co;
    spec.k = g.patch;
    spec.trans_b = true;
    spec.accumulate = bf != nullptr;
    matmul(spec, a, weight, o);
  }
}

// dx and dweight (either may be null) of a batch of at least one image.
void im2col_backward(const Conv2dShape& shape, const void* x, const void* weight, const void* dout, void* dx,
                     void* dweight) {
  const Conv2dGeometry g(shape);
  const int64_t Co = shape.out_channels;
  const auto* dof = static_cast<const float*>(dout);
  const auto* xf = static_cast<const float*>(x);
  auto* dxf = static_cast<float*>(dx);
  Scratch cols(dweight != nullptr && !g.direct ? g.chunk_images * g.pixels * g.patch : 0);
  Scratch dcols(dx != nullptr && !g.direct ? g.chunk_images * g.pixels * g.patch : 0);
  for (int64_t b0 = 0; b0 < shape.batch; b0 += g.chunk_images) {
    const int64_t images = std::min(g.chunk_images, shape.batch - b0);
    const int64_t rows = images * g.pixels;
    const float* d = dof + b0 * g.pixels * Co;  // [rows, Co]
    if (dweight != nullptr) {
      const float* a = xf + b0 * g.image_floats();
      if (!g.direct) {
        im2col(g, a, images, cols.data());
        a = cols.data();
      }
      MatmulSpec spec;  // dweight [Co, K] (+)= dout [rows, Co]ᵀ · cols [rows, K]
      spec.m = Co;
      spec.n = g.patch;
      spec.k = rows;
      spec.trans_a = true;
      spec.accumulate = b0 > 0;
      matmul(spec, d, a, dweight);
    }
    if (dx != nullptr) {
      float* dx_chunk = dxf + b0 * g.image_floats();
      MatmulSpec spec;  // dcols [rows, K] = dout [rows, Co] · weight [Co, K]
      spec.m = rows;
      spec.n = g.patch;
      spec.k = Co;
      if (g.direct) {
        matmul(spec, d, weight, dx_chunk);
      } else {
        matmul(spec, d, weight, dcols.data());
        col2im(g, dcols.data(), images, dx_chunk);
      }
    }
  }
}

// dbias[co] = Σ over every output pixel of dout[·, co], summed in double.
void bias_gradient(const Conv2dShape& shape, const float* dout, float* dbias) {
  const int64_t Co = shape.out_channels, rows = shape.batch * shape.out_height() * shape.out_width();
  std::vector<double> sum(static_cast<std::size_t>(Co), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < Co; ++c) sum[static_cast<std::size_t>(c)] += dout[r * Co + c];
  }
  for (int64_t c = 0; c < Co; ++c) dbias[c] = static_cast<float>(sum[static_cast<std::size_t>(c)]);
}

Conv2dPath resolve(Conv2dPath path, const Conv2dShape& shape) {
  return path == Conv2dPath::automatic ? conv2d_default_path(shape) : path;
}

}  // namespace

Conv2dPath conv2d_default_path(const Conv2dShape& s) {
  const bool disjoint_windows = s.stride_h >= s.kernel_h && s.stride_w >= s.kernel_w && s.pad_h == 0 && s.pad_w == 0;
  return disjoint_windows ? Conv2dPath::im2col : Conv2dPath::onednn;
}

void conv2d_forward_path(Conv2dPath path, core::DType dtype, const Conv2dShape& shape, const void* x,
                         const void* weight, const void* bias, void* out) {
  check(dtype, shape, "forward");
  if (shape.batch == 0) return;
  SIEVE_CHECK(x && weight && out, "conv2d_forward: null x, weight or out");
  if (resolve(path, shape) == Conv2dPath::im2col) {
    im2col_forward(shape, x, weight, bias, out);
  } else {
    conv2d_onednn_forward(shape, static_cast<const float*>(x), static_cast<const float*>(weight),
                          static_cast<const float*>(bias), static_cast<float*>(out));
  }
}

void conv2d_backward_path(Conv2dPath path, core::DType dtype, const Conv2dShape& shape, const void* x,
                          const void* weight, const void* dout, void* dx, void* dweight, void* dbias) {
  check(dtype, shape, "backward");
  const int64_t weights = shape.out_channels * shape.kernel_h * shape.kernel_w * shape.in_channels;
  if (shape.batch == 0) {  // no pixels: zero sums, and no dx to write
    if (dweight != nullptr) std::memset(dweight, 0, sizeof(float) * static_cast<std::size_t>(weights));
    if (dbias != nullptr) std::memset(dbias, 0, sizeof(float) * static_cast<std::size_t>(shape.out_channels));
    return;
  }
  SIEVE_CHECK(dout && (dweight == nullptr || x) && (dx == nullptr || weight),
              "conv2d_backward: null dout, or x (for dweight), or weight (for dx)");
  if (dbias != nullptr) bias_gradient(shape, static_cast<const float*>(dout), static_cast<float*>(dbias));
  if (dx == nullptr && dweight == nullptr) return;
  if (resolve(path, shape) == Conv2dPath::im2col) {
    im2col_backward(shape, x, weight, dout, dx, dweight);
  } else {
    conv2d_onednn_backward(shape, static_cast<const float*>(x), static_cast<const float*>(weight),
                           static_cast<const float*>(dout), static_cast<float*>(dx), static_cast<float*>(dweight));
  }
}

void conv2d_forward(core::DType dtype, const Conv2dShape& shape, const void* x, const void* weight,
                    const void* bias, void* out) {
  conv2d_forward_path(Conv2dPath::automatic, dtype, shape, x, weight, bias, out);
}

void conv2d_backward(core::DType dtype, const Conv2dShape& shape, const void* x, const void* weight,
                     const void* dout, void* dx, void* dweight, void* dbias) {
  conv2d_backward_path(Conv2dPath::automatic, dtype, shape, x, weight, dout, dx, dweight, dbias);
}

}  // namespace sieve::kernels::cpu
