// conv2d through oneDNN's convolution primitives, NHWC activations. Letters: B batch, H W input
// size, Ci Co channels, KH KW kernel, Ho Wo output size.
//
// NOTE [conv2d primitive cache]: as for matmul (NOTE [matmul primitive cache]), creating the
// primitives (a JIT compile each) costs far more than running them on a small batch, so the three
// primitives of one shape are built once, keyed by the shape, bias or not and the thread count,
// and shared; the mutex guards only the map. Activations stay in the caller's NHWC layout (a
// reorder of them would cost as much as the convolution); the weights, small, are reordered each
// call from Sieve's [Co, KH, KW, Ci] (oneDNN's `ohwi`) into whatever blocked layout the
// primitive chose, and dweight back.
#include "sieve/kernels/cpu/conv2d_onednn.h"

#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "sieve/core/allocator.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/onednn_runtime.h"

namespace sieve::kernels::cpu {
namespace {

using dnnl::memory;

constexpr std::size_t kMaxCachedConvolutions = 256;  // dropped wholesale past this, like matmul's

struct ConvKey {
  Conv2dShape shape;
  bool bias = false;
  int threads = 1;
  bool operator==(const ConvKey& o) const {
    const Conv2dShape &a = shape, &b = o.shape;
    return a.batch == b.batch && a.height == b.height && a.width == b.width && a.in_channels == b.in_channels &&
           a.out_channels == b.out_channels && a.kernel_h == b.kernel_h && a.kernel_w == b.kernel_w &&
           a.stride_h == b.stride_h && a.stride_w == b.stride_w && a.pad_h == b.pad_h && a.pad_w == b.pad_w &&
           bias == o.bias && threads == o.threads;
  }
};

struct ConvKeyHash {
  std::size_t operator()(const ConvKey& k) const {
    std::size_t h = std::hash<int>{}(k.threads) ^ (k.bias ? 0x51ed27ull : 0);
    const Conv2dShape& s = k.shape;
    for (std::int64_t v : {s.batch, s.height, s.width, s.in_channels, s.out_channels, s.kernel_h, s.kernel_w,
                           s.stride_h, s.stride_w, s.pad_h, s.pad_w}) {
      h ^= std::hash<std::int64_t>{}(v) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    }
    return h;
  }
};

struct Convolution {
  memory::desc src, dst, weights_user;  // NHWC x, NHWC out, ohwi weight
  memory::desc bias;                    // [Co], zero desc without bias
  dnnl::convolution_forward::primitive_desc forward_pd;
  dnnl::convolution_backward_data::primitive_desc backward_data_pd;
  dnnl::convolution_backward_weights::primitive_desc backward_weights_pd;
  dnnl::convolution_forward forward;
  dnnl::convolution_backward_data backward_data;
  dnnl::convolution_backward_weights backward_weights;
};

Convolution build(const ConvKey& key) {
  const Conv2dShape& s = key.shape;
  const auto f32 = memory::data_type::f32;
  using tag = memory::format_tag;
  const memory::dims strides = {s.stride_h, s.stride_w}, padding = {s.pad_h, s.pad_w};
  const memory::dims weight_dims = {s.out_channels, s.in_channels, s.kernel_h, s.kernel_w};
  Convolution c;
  c.src = memory::desc({s.batch, s.in_channels, s.height, s.width}, f32, tag::nhwc);
  c.dst = memory::desc({s.batch, s.out_channels, s.out_height(), s.out_width()}, f32, tag::nhwc);
  c.weights_user = memory::desc(weight_dims, f32, tag::ohwi);
  if (key.bias) c.bias = memory::desc({s.out_channels}, f32, tag::a);
  const memory::desc weights_any(weight_dims, f32, tag::any);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::engine& engine = cpu_engine();
  const auto algorithm = dnnl::algorithm::convolution_direct;
  c.forward_pd = dnnl::convolution_forward::primitive_desc(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algorithm, c.src, weights_any, c.bias, c.dst,
                                      strides, padding, padding),
      attr, engine);
  c.backward_data_pd = dnnl::convolution_backward_data::primitive_desc(
      dnnl::convolution_backward_data::desc(algorithm, c.src, weights_any, c.dst, strides, padding, padding), attr,
      engine, c.forward_pd);
  c.backward_weights_pd = dnnl::convolution_backward_weights::primitive_desc(
      dnnl::convolution_backward_weights::desc(algorithm, c.src, weights_any, c.dst, strides, padding, padding), attr,
      engine, c.forward_pd);
  c.forward = dnnl::convolution_forward(c.forward_pd);
  c.backward_data = dnnl::convolution_backward_data(c.backward_data_pd);
  c.backward_weights = dnnl::convolution_backward_weights(c.backward_weights_pd);
  return c;
}

std::shared_ptr<const Convolution> cached_convolution(const Conv2dShape& shape, bool bias) {
  // oneDNN sizes its parallel regions from the calling thread's OpenMP setting (as in matmul).
  int threads = 1;
  if (!omp_in_parallel()) {
    threads = core::num_threads();
    if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
  }
  const ConvKey key{shape, bias, threads};
  static std::mutex mutex;
  static std::unordered_map<ConvKey, std::shared_ptr<const Convolution>, ConvKeyHash> cache;
  {
    const std::lock_guard lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  std::shared_ptr<const Convolution> built;
  try {
    built = std::make_shared<const Convolution>(build(key));
  } catch (const dnnl::error& e) {
    SIEVE_CHECK(false,
                "conv2d: oneDNN cannot build a convolution for x [{}, {}, {}, {}], kernel {}x{}, stride {}x{}: {}",
                shape.batch, shape.height, shape.width, shape.in_channels, shape.kernel_h, shape.kernel_w,
                shape.stride_h, shape.stride_w, e.what());
  }
  const std::lock_guard lock(mutex);
  if (cache.size() >= kMaxCachedConvolutions) cache.clear();
  return cache.try_emplace(key, std::move(built)).first->second;
}

// Bytes for a primitive's own weight layout, from the caching allocator.
class Buffer {
 public:
  explicit Buffer(std::size_t bytes)
      : bytes_(std::max<std::size_t>(bytes, 64)), data_(core::allocator().allocate(bytes_)) {}
  ~Buffer() { core::allocator().release(data_, bytes_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  void* data() const { return data_; }

 private:
  std::size_t bytes_;
  void* data_;
};

memory scratchpad(const memory::desc& desc) {
  return memory(desc, cpu_engine(), thread_scratchpad(desc.get_size()));
}

// The weights in the layout `wanted` (a view of the caller's when they already are).
struct WeightsIn {
  WeightsIn(const Convolution& c, const memory::desc& wanted, const float* weight) {
    memory user(c.weights_user, cpu_engine(), const_cast<float*>(weight));
    if (wanted == c.weights_user) {
      mem = user;
      return;
    }
    buffer = std::make_unique<Buffer>(wanted.get_size());
    mem = memory(wanted, cpu_engine(), buffer->data());
    dnnl::reorder(user, mem).execute(thread_stream(), user, mem);
  }
  std::unique_ptr<Buffer> buffer;
  memory mem;
};

}  // namespace

void conv2d_onednn_forward(const Conv2dShape& shape, const float* x, const float* weight, const float* bias,
                           float* out) {
  const auto c = cached_convolution(shape, bias != nullptr);
  const dnnl::engine& engine = cpu_engine();
  dnnl::stream& stream = thread_stream();
  const WeightsIn w(*c, c->forward_pd.weights_desc(), weight);
  memory src(c->src, engine, const_cast<float*>(x)), dst(c->dst, engine, out);
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src},
                                          {DNNL_ARG_WEIGHTS, w.mem},
                                          {DNNL_ARG_DST, dst},
                                          {DNNL_ARG_SCRATCHPAD, scratchpad(c->forward_pd.scratchpad_desc())}};
  if (bias != nullptr) args.emplace(DNNL_ARG_BIAS, memory(c->bias, engine, const_cast<float*>(bias)));
  c->forward.execute(stream, args);
  stream.wait();
}

void conv2d_onednn_backward(const Conv2dShape& shape, const float* x, const float* weight, const float* dout,
                            float* dx, float* dweight) {
  const auto c = cached_convolution(shape, false);
  const dnnl::engine& engine = cpu_engine();
  dnnl::stream& stream = thread_stream();
  memory diff_dst(c->dst, engine, const_cast<float*>(dout));
  if (dx != nullptr) {
    const WeightsIn w(*c, c->backward_data_pd.weights_desc(), weight);
    memory diff_src(c->src, engine, dx);
    c->backward_data.execute(stream, {{DNNL_ARG_DIFF_DST, diff_dst},
                                      {DNNL_ARG_WEIGHTS, w.mem},
                                      {DNNL_ARG_DIFF_SRC, diff_src},
                                      {DNNL_ARG_SCRATCHPAD, scratchpad(c->backward_data_pd.scratchpad_desc())}});
    stream.wait();
  }
  if (dweight != nullptr) {
    const memory::desc& wanted = c->backward_weights_pd.diff_weights_desc();
    memory user(c->weights_user, engine, dweight);
    const bool direct = wanted == c->weights_user;
    std::unique_ptr<Buffer> buffer = direct ? nullptr : std::make_unique<Buffer>(wanted.get_size());
    memory diff_weights = direct ? user : memory(wanted, engine, buffer->data());
    memory src(c->src, engine, const_cast<float*>(x));
    c->backward_weights.execute(stream, {{DNNL_ARG_SRC, src},
                                         {DNNL_ARG_DIFF_DST, diff_dst},
                                         {DNNL_ARG_DIFF_WEIGHTS, diff_weights},
                                         {DNNL_ARG_SCRATCHPAD, scratchpad(c->backward_weights_pd.scratchpad_desc())}});
    if (!direct) dnnl::reorder(diff_weights, user).execute(stream, diff_weights, user);
    stream.wait();
  }
}

}  // namespace sieve::kernels::cpu
