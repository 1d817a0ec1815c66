#include "sieve/compress/quantized_linear.h"

#include <cmath>

#include <fmt/format.h>

#include "sieve/autograd/grad_mode.h"
#include "sieve/core/checked_math.h"
#include "sieve/core/error.h"

namespace sieve::compress {
namespace {

namespace cpu = kernels::cpu;

// x [..., K] as a contiguous f32 array of N rows, and the [..., M] shape of the product.
struct Rows {
  Tensor x;
  std::int64_t N;
  core::Shape out_shape;
};

Rows rows_of(const Tensor& x, std::int64_t K, std::int64_t M) {
  SIEVE_USER_CHECK(!(autograd::grad_enabled() && x.requires_grad()),
                   "a quantized Linear is inference-only: its product has no gradient (run under "
                   "NoGradGuard, or train the f32 model and quantize it afterwards)");
  SIEVE_CHECK(x.dtype() == core::DType::f32, "a quantized Linear takes f32 input, got {}", core::dtype_name(x.dtype()));
  SIEVE_CHECK(x.dim() >= 1 && x.size(-1) == K, "quantized Linear: input {} does not end in K = {}",
              core::shape_string(x.shape()), K);
  core::Shape out_shape = x.shape();
  out_shape.back() = M;
  return {x.is_contiguous() ? x : x.contiguous(), x.numel() / K, std::move(out_shape)};
}

void check_scales_shape(const Tensor& scales, const core::Shape& expected, const char* what) {
  SIEVE_CHECK(scales.dtype() == core::DType::f32 && scales.shape() == expected && scales.is_contiguous(),
              "{}: scales must be contiguous f32 {}, got {} {}", what, core::shape_string(expected),
              core::dtype_name(scales.dtype()), core::shape_string(scales.shape()));
}

}  // namespace

bool is_valid_int4_group_size(std::int64_t G) {
  return G >= cpu::kInt4MinGroup && G <= cpu::kInt4MaxGroup && G % 32 == 0;
}

// ---- INT8 --------------------------------------------------------------------------------------

Int8LinearFormat::Int8LinearFormat(Tensor q, Tensor scales, cpu::Int8Activation activation)
    : q_(std::move(q)), scales_(std::move(scales)), activation_(activation) {
  SIEVE_CHECK(q_.dtype() == core::DType::i8 && q_.dim() == 2 && q_.is_contiguous(),
              "Int8LinearFormat: q must be contiguous i8 [M, K], got {} {}", core::dtype_name(q_.dtype()),
              core::shape_string(q_.shape()));
  check_scales_shape(scales_, {q_.size(0)}, "Int8LinearFormat");
  SIEVE_CHECK(activation_.dynamic || activation_.static_scale > 0.0f,
              "Int8LinearFormat: a static activation scale must be > 0, got {}", activation_.static_scale);
  packed_ = std::make_shared<const cpu::Int8Weight>(q_.size(0), q_.size(1), q_.data<std::int8_t>(),
                                                    scales_.data<float>());
}

std::shared_ptr<Int8LinearFormat> Int8LinearFormat::from_weight(const Tensor& weight, cpu::Int8Activation activation) {
  SIEVE_CHECK(weight.dtype() == core::DType::f32 && weight.dim() == 2, "INT8 quantization needs an f32 [M, K] weight");
  const Tensor w = weight.contiguous();
  const std::int64_t M = w.size(0), K = w.size(1);
  Tensor q = Tensor::empty({M, K}, core::DType::i8);
  Tensor scales = Tensor::empty({M});
  cpu::quantize_rows_int8(M, K, w.data<float>(), q.data<std::int8_t>(), scales.data<float>());
  return std::make_shared<Int8LinearFormat>(std::move(q), std::move(scales), activation);
}

Tensor Int8LinearFormat::product(const Tensor& x, const Tensor&) const {
  const Rows rows = rows_of(x, q_.size(1), q_.size(0));
  Tensor y = Tensor::empty(rows.out_shape);
  cpu::int8_linear(rows.N, rows.x.data<float>(), activation_, *packed_, nullptr, y.data<float>());
  return y;
}

std::string Int8LinearFormat::describe() const { return activation_.dynamic ? "int8" : "int8 static"; }

std::int64_t Int8LinearFormat::weight_bytes() const {
  return q_.numel() + 4 * scales_.numel() + (activation_.dynamic ? 0 : 4);
}

// ---- INT4 --------------------------------------------------------------------------------------

Int4LinearFormat::Int4LinearFormat(Tensor packed, Tensor scales, std::int64_t K, std::int64_t G,
                                   core::DType file_scale_dtype)
    : packed_(std::move(packed)), scales_(std::move(scales)), K_(K), G_(G), file_scale_dtype_(file_scale_dtype) {
  SIEVE_CHECK(is_valid_int4_group_size(G_), "Int4LinearFormat: group size {} is not a multiple of 32 in [{}, {}]", G_,
              cpu::kInt4MinGroup, cpu::kInt4MaxGroup);
  SIEVE_CHECK(file_scale_dtype_ == core::DType::f32 || file_scale_dtype_ == core::DType::f16,
              "Int4LinearFormat: scales are stored as f32 or f16");
  SIEVE_CHECK(packed_.dtype() == core::DType::u8 && packed_.dim() == 2 && packed_.size(1) == core::ceil_div(K_, 2) &&
                  packed_.is_contiguous(),
              "Int4LinearFormat: packed must be contiguous u8 [M, ceil(K/2) = {}], got {} {}", core::ceil_div(K_, 2),
              core::dtype_name(packed_.dtype()), core::shape_string(packed_.shape()));
  check_scales_shape(scales_, {packed_.size(0), core::ceil_div(K_, G_)}, "Int4LinearFormat");
}

std::shared_ptr<Int4LinearFormat> Int4LinearFormat::from_weight(const Tensor& weight, std::int64_t G,
                                                                core::DType file_scale_dtype) {
  SIEVE_CHECK(weight.dtype() == core::DType::f32 && weight.dim() == 2, "INT4 quantization needs an f32 [M, K] weight");
  const Tensor w = weight.contiguous();
  const std::int64_t M = w.size(0), K = w.size(1);
  Tensor packed = Tensor::empty({M, core::ceil_div(K, 2)}, core::DType::u8);
  Tensor scales = Tensor::empty({M, core::ceil_div(K, G)});
  cpu::quantize_int4(M, K, G, w.data<float>(), packed.data<std::uint8_t>(), scales.data<float>());
  if (file_scale_dtype == core::DType::f16) {
    float* s = scales.data<float>();
    const std::int64_t groups = scales.size(1);
    for (std::int64_t i = 0; i < scales.numel(); ++i) {
      const float scale = s[i];
      s[i] = core::f16_bits_to_f32(core::f32_to_f16_bits(scale));
      SIEVE_USER_CHECK(std::isfinite(s[i]),
                       "row {}, group {} has weights up to |w| = {}, whose INT4 scale {} (|w| / 7) is beyond f16's "
                       "largest value 65504: store the scales as f32 (--scale-dtype f32)",
                       i / groups, i % groups, 7.0 * scale, scale);
    }
  }
  return std::make_shared<Int4LinearFormat>(std::move(packed), std::move(scales), K, G, file_scale_dtype);
}

Tensor Int4LinearFormat::product(const Tensor& x, const Tensor&) const {
  const std::int64_t M = packed_.size(0);
  const Rows rows = rows_of(x, K_, M);
  Tensor y = Tensor::empty(rows.out_shape);
  cpu::int4_linear(rows.N, M, K_, G_, rows.x.data<float>(), packed_.data<std::uint8_t>(), scales_.data<float>(),
                   nullptr, y.data<float>());
  return y;
}

std::string Int4LinearFormat::describe() const { return fmt::format("int4 g{}", G_); }

std::int64_t Int4LinearFormat::weight_bytes() const {
  return packed_.numel() + scales_.numel() * static_cast<std::int64_t>(core::dtype_size(file_scale_dtype_));
}

}  // namespace sieve::compress
