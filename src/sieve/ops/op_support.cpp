#include "sieve/ops/op_support.h"

#include <algorithm>
#include <cstring>

namespace sieve::ops::detail {
namespace {

namespace k = kernels::cpu;

// Rewrites an iteration space (shape plus one stride list per operand) into the fewest
// dimensions that walk the same elements: extent-1 dimensions are dropped and neighbours that
// every operand steps through as one run are merged. Strided kernels then see a low rank
// (a transposed copy stays 2-D; a contiguous operand collapses to 1-D).
void coalesce(Shape& shape, std::initializer_list<Shape*> strides) {
  Shape out_shape;
  std::vector<Shape> out_strides(strides.size());
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    bool merge = !out_shape.empty();
    std::size_t op = 0;
    for (Shape* s : strides) {
      merge = merge && out_strides[op].back() == (*s)[i] * shape[i];
      ++op;
    }
    if (merge) {
      out_shape.back() *= shape[i];
      op = 0;
      for (Shape* s : strides) out_strides[op++].back() = (*s)[i];
    } else {
      out_shape.push_back(shape[i]);
      op = 0;
      for (Shape* s : strides) out_strides[op++].push_back((*s)[i]);
    }
  }
  shape = std::move(out_shape);
  std::size_t op = 0;
  for (Shape* s : strides) *s = std::move(out_strides[op++]);
}

char* element_pointer(const Tensor& t, std::int64_t element_offset) {
  return static_cast<char*>(t.raw_data()) + element_offset * static_cast<std::int64_t>(core::dtype_size(t.dtype()));
}

}  // namespace

Tensor dense(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  copy_into(out, x);
  return out;
}

void copy_into(const Tensor& destination, const Tensor& source) {
  SIEVE_CHECK(destination.shape() == source.shape(), "copy: shape {} into {}", core::shape_string(source.shape()),
              core::shape_string(destination.shape()));
  SIEVE_CHECK(destination.dtype() == source.dtype(), "copy: dtype {} into {}", core::dtype_name(source.dtype()),
              core::dtype_name(destination.dtype()));
  if (destination.numel() == 0) return;
  Shape shape = source.shape();
  Shape dst_strides = destination.strides();
  Shape src_strides = source.strides();
  coalesce(shape, {&dst_strides, &src_strides});
  const int rank = static_cast<int>(shape.size());
  if (rank == 0) {  // a single element
    std::memcpy(destination.raw_data(), source.raw_data(), core::dtype_size(source.dtype()));
    return;
  }
  // copy_strided writes a contiguous block: the trailing dimensions [inner, rank) that are
  // contiguous in the destination form it; the leading ones are walked here.
  int inner = rank;
  std::int64_t expected = 1;
  while (inner > 0 && dst_strides[static_cast<std::size_t>(inner - 1)] == expected) {
    --inner;
    expected *= shape[static_cast<std::size_t>(inner)];
  }
  if (inner == rank || rank - inner > k::kMaxStridedRank) {
    // Rare layouts (a destination strided in its last dimension, very high rank): the
    // generic element loop is correct, if slow.
    Tensor target = destination;
    target.copy_from(source);
    return;
  }
  const std::int64_t outer = core::shape_numel(std::span(shape).first(static_cast<std::size_t>(inner)));
  std::vector<std::int64_t> index(static_cast<std::size_t>(inner), 0);
  std::int64_t dst_at = 0, src_at = 0;
  for (std::int64_t o = 0; o < outer; ++o) {
    k::copy_strided(source.dtype(), rank - inner, shape.data() + inner, src_strides.data() + inner,
                    element_pointer(source, src_at), element_pointer(destination, dst_at));
    for (int d = inner; d-- > 0;) {
      const auto du = static_cast<std::size_t>(d);
      dst_at += dst_strides[du];
      src_at += src_strides[du];
      if (++index[du] < shape[du]) break;
      dst_at -= dst_strides[du] * shape[du];
      src_at -= src_strides[du] * shape[du];
      index[du] = 0;
    }
  }
}

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    // Align from the right; a missing leading dimension acts as 1.
    const std::int64_t ea = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::int64_t eb = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    SIEVE_CHECK(ea == eb || ea == 1 || eb == 1, "{}: shapes {} and {} do not broadcast (dimension {}: {} vs {})", op,
                core::shape_string(a), core::shape_string(b), i, ea, eb);
    out[i] = ea == 1 ? eb : ea;
  }
  return out;
}

Shape broadcast_strides(const Tensor& x, const Shape& target) {
  const Shape& shape = x.shape();
  SIEVE_CHECK(shape.size() <= target.size(), "cannot broadcast {} to {}", core::shape_string(shape),
              core::shape_string(target));
  const std::size_t lead = target.size() - shape.size();
  Shape strides(target.size(), 0);
  for (std::size_t i = 0; i < shape.size(); ++i) {
    SIEVE_CHECK(shape[i] == target[lead + i] || shape[i] == 1, "cannot broadcast {} to {}", core::shape_string(shape),
                core::shape_string(target));
    strides[lead + i] = shape[i] == 1 ? 0 : x.strides()[i];
  }
  return strides;
}

Tensor broadcast_to(const Tensor& x, const Shape& target) {
  Tensor out = Tensor::empty(target, x.dtype());
  if (out.numel() == 0) return out;
  copy_into(out, x.as_strided(target, broadcast_strides(x, target), x.offset()));
  return out;
}

Tensor binary(k::BinaryOp op, const Tensor& a, const Tensor& b, std::string_view name) {
  check_same_dtype(a, b, name);
  const Shape out_shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(out_shape, a.dtype());
  if (out.numel() == 0) return out;
  if (a.shape() == out_shape && b.shape() == out_shape && a.is_contiguous() && b.is_contiguous()) {
    k::binary(op, a.dtype(), out.numel(), a.raw_data(), b.raw_data(), out.raw_data());
    return out;
  }
  Shape shape = out_shape;
  Shape out_strides = core::contiguous_strides(out_shape);
  Shape a_strides = broadcast_strides(a, out_shape);
  Shape b_strides = broadcast_strides(b, out_shape);
  coalesce(shape, {&out_strides, &a_strides, &b_strides});
  SIEVE_CHECK(static_cast<int>(shape.size()) <= k::kMaxStridedRank,
              "{}: broadcasting {} with {} needs {} strided dimensions (at most {} supported)", name,
              core::shape_string(a.shape()), core::shape_string(b.shape()), shape.size(), k::kMaxStridedRank);
  k::binary_strided(op, a.dtype(), static_cast<int>(shape.size()), shape.data(), a_strides.data(), b_strides.data(),
                    a.raw_data(), b.raw_data(), out.raw_data());
  return out;
}

Tensor unary(k::UnaryOp op, const Tensor& x) {
  const Tensor xc = dense(x);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  k::unary(op, x.dtype(), x.numel(), xc.raw_data(), out.raw_data());
  return out;
}

Tensor scaled(const Tensor& x, float alpha) {
  const Tensor xc = dense(x);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  k::scale(x.dtype(), x.numel(), alpha, xc.raw_data(), out.raw_data());
  return out;
}

void check_same_dtype(const Tensor& a, const Tensor& b, std::string_view op) {
  SIEVE_CHECK(a.dtype() == b.dtype(), "{}: dtypes differ ({} and {})", op, core::dtype_name(a.dtype()),
              core::dtype_name(b.dtype()));
}

void check_floating(const Tensor& x, std::string_view op) {
  SIEVE_CHECK(core::dtype_is_floating(x.dtype()), "{}: needs a floating tensor, got {}", op,
              core::dtype_name(x.dtype()));
}

std::int64_t normalize_dim(std::int64_t d, const Shape& shape, std::string_view op) {
  const auto rank = static_cast<std::int64_t>(shape.size());
  const std::int64_t nd = d < 0 ? d + rank : d;
  SIEVE_CHECK(nd >= 0 && nd < rank, "{}: dimension {} out of range for a tensor of shape {}", op, d,
              core::shape_string(shape));
  return nd;
}

}  // namespace sieve::ops::detail
