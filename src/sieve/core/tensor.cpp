#include "sieve/core/tensor.h"

#include <cstring>

#include "sieve/core/allocator.h"
#include "sieve/core/checked_math.h"

namespace sieve::core {

std::string device_name(Device device) {
  return device.type == DeviceType::cpu ? "cpu" : fmt::format("cuda:{}", device.index);
}

Storage::Storage(std::size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  SIEVE_CHECK(device.type == DeviceType::cpu, "no backend for device {} yet", device_name(device));
  data_ = allocator().allocate(nbytes == 0 ? 1 : nbytes);
}

Storage::Storage(void* borrowed, std::size_t nbytes, std::function<void()> release)
    : data_(borrowed), nbytes_(nbytes), release_(std::move(release)) {}

Storage::~Storage() {
  if (release_) {
    release_();
  } else {
    allocator().release(data_, nbytes_ == 0 ? 1 : nbytes_);
  }
}

std::int64_t shape_numel(std::span<const std::int64_t> shape) {
  const auto numel = checked_numel(shape);
  SIEVE_CHECK(numel.has_value(), "shape {} has a negative extent or more elements than 64 bits count",
              shape_string(shape));
  return *numel;
}

Shape contiguous_strides(std::span<const std::int64_t> shape) {
  // Each stride is a product of trailing extents: zero after a zero extent, otherwise at most
  // the product of the non-zero extents, which shape_numel checks fits.
  (void)shape_numel(shape);
  Shape strides(shape.size());
  std::int64_t stride = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

std::string shape_string(std::span<const std::int64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

namespace {

std::shared_ptr<TensorImpl> make_impl(std::shared_ptr<Storage> storage, Shape shape, Shape strides,
                                      std::int64_t offset, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = dtype;
  return impl;
}

std::int64_t normalize_dim(std::int64_t d, std::int64_t rank) {
  const std::int64_t nd = d < 0 ? d + rank : d;
  SIEVE_CHECK(nd >= 0 && nd < rank, "dimension {} out of range for a {}-d tensor", d, rank);
  return nd;
}

// Reads element `index` of a tensor of any floating/integer dtype as double.
double load_as_double(const void* base, DType dtype, std::int64_t index) {
  switch (dtype) {
    case DType::f32: return static_cast<const float*>(base)[index];
    case DType::bf16: return bf16_bits_to_f32(static_cast<const std::uint16_t*>(base)[index]);
    case DType::f16: return f16_bits_to_f32(static_cast<const std::uint16_t*>(base)[index]);
    case DType::i8: return static_cast<const std::int8_t*>(base)[index];
    case DType::u8: return static_cast<const std::uint8_t*>(base)[index];
    case DType::i32: return static_cast<const std::int32_t*>(base)[index];
    case DType::i64: return static_cast<double>(static_cast<const std::int64_t*>(base)[index]);
  }
  return 0.0;
}

void store_from_double(void* base, DType dtype, std::int64_t index, double value) {
  switch (dtype) {
    case DType::f32: static_cast<float*>(base)[index] = static_cast<float>(value); break;
    case DType::bf16: static_cast<std::uint16_t*>(base)[index] = f32_to_bf16_bits(static_cast<float>(value)); break;
    case DType::f16: static_cast<std::uint16_t*>(base)[index] = f32_to_f16_bits(static_cast<float>(value)); break;
    case DType::i8: static_cast<std::int8_t*>(base)[index] = static_cast<std::int8_t>(value); break;
    case DType::u8: static_cast<std::uint8_t*>(base)[index] = static_cast<std::uint8_t>(value); break;
    case DType::i32: static_cast<std::int32_t*>(base)[index] = static_cast<std::int32_t>(value); break;
    case DType::i64: static_cast<std::int64_t*>(base)[index] = static_cast<std::int64_t>(value); break;
  }
}

// Calls visit(source_element_offset) for every element of a strided tensor in row-major order.
template <typename Visit>
void for_each_offset(const Shape& shape, const Shape& strides, std::int64_t offset, Visit&& visit) {
  const std::size_t rank = shape.size();
  const std::int64_t n = shape_numel(shape);
  if (n == 0) return;
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t position = offset;
  for (std::int64_t i = 0; i < n; ++i) {
    visit(position);
    for (std::size_t d = rank; d-- > 0;) {
      if (++index[d] < shape[d]) {
        position += strides[d];
        break;
      }
      position -= strides[d] * (shape[d] - 1);
      index[d] = 0;
    }
  }
}

}  // namespace

namespace {

// Bytes of a contiguous `shape` of `dtype`; a negative extent or a size that overflows is a
// broken contract (sizes from files are checked where they are read).
std::size_t contiguous_nbytes(const Shape& shape, DType dtype) {
  for (auto extent : shape) SIEVE_CHECK(extent >= 0, "negative extent in shape {}", shape_string(shape));
  const auto nbytes = checked_nbytes(shape, dtype_size(dtype));
  SIEVE_CHECK(nbytes.has_value(), "shape {} of {} is too large: its size in bytes overflows 64 bits",
              shape_string(shape), dtype_name(dtype));
  return static_cast<std::size_t>(*nbytes);
}

}  // namespace

Tensor Tensor::empty(Shape shape, DType dtype, Device device) {
  auto storage = std::make_shared<Storage>(contiguous_nbytes(shape, dtype), device);
  Shape strides = contiguous_strides(shape);
  return Tensor(make_impl(std::move(storage), std::move(shape), std::move(strides), 0, dtype));
}

Tensor Tensor::zeros(Shape shape, DType dtype) {
  Tensor t = empty(std::move(shape), dtype);
  std::memset(t.raw_data(), 0, t.nbytes());
  return t;
}

Tensor Tensor::full(Shape shape, double value, DType dtype) {
  Tensor t = empty(std::move(shape), dtype);
  t.fill(value);
  return t;
}

Tensor Tensor::borrow(void* data, Shape shape, DType dtype, std::function<void()> release) {
  auto storage = std::make_shared<Storage>(data, contiguous_nbytes(shape, dtype), std::move(release));
  Shape strides = contiguous_strides(shape);
  return Tensor(make_impl(std::move(storage), std::move(shape), std::move(strides), 0, dtype));
}

std::int64_t Tensor::size(std::int64_t d) const { return shape()[normalize_dim(d, dim())]; }

bool Tensor::is_contiguous() const {
  std::int64_t expected = 1;
  for (std::size_t i = shape().size(); i-- > 0;) {
    if (shape()[i] == 1) continue;
    if (strides()[i] != expected) return false;
    expected *= shape()[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  return static_cast<char*>(impl().storage->data()) + offset() * static_cast<std::int64_t>(dtype_size(dtype()));
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> out;
  out.reserve(static_cast<std::size_t>(numel()));
  const void* base = impl().storage->data();
  for_each_offset(shape(), strides(), offset(),
                  [&](std::int64_t at) { out.push_back(static_cast<float>(load_as_double(base, dtype(), at))); });
  return out;
}

double Tensor::item() const {
  SIEVE_CHECK(numel() == 1, "item() of a tensor with {} elements", numel());
  return load_as_double(impl().storage->data(), dtype(), offset());
}

Tensor Tensor::view(Shape new_shape) const {
  std::int64_t inferred = -1;
  std::int64_t known = 1;
  for (std::size_t i = 0; i < new_shape.size(); ++i) {
    if (new_shape[i] == -1) {
      SIEVE_CHECK(inferred < 0, "view: more than one -1 in {}", shape_string(new_shape));
      inferred = static_cast<std::int64_t>(i);
    } else {
      const auto product = checked_mul(known, new_shape[i]);
      SIEVE_CHECK(new_shape[i] >= 0 && product, "view: bad shape {}", shape_string(new_shape));
      known = *product;
    }
  }
  if (inferred >= 0) {
    SIEVE_CHECK(known > 0 && numel() % known == 0, "view: cannot infer -1 in {} for {} elements",
                shape_string(new_shape), numel());
    new_shape[static_cast<std::size_t>(inferred)] = numel() / known;
  }
  SIEVE_CHECK(shape_numel(new_shape) == numel(), "view: shape {} does not fit {} elements of {}",
              shape_string(new_shape), numel(), shape_string(shape()));
  SIEVE_CHECK(is_contiguous(), "view of a non-contiguous tensor {}: make it contiguous first",
              shape_string(shape()));
  Shape strides = contiguous_strides(new_shape);
  return Tensor(make_impl(impl().storage, std::move(new_shape), std::move(strides), offset(), dtype()));
}

Tensor Tensor::transpose(std::int64_t d0, std::int64_t d1) const {
  d0 = normalize_dim(d0, dim());
  d1 = normalize_dim(d1, dim());
  Shape shape = this->shape();
  Shape strides = this->strides();
  std::swap(shape[d0], shape[d1]);
  std::swap(strides[d0], strides[d1]);
  return Tensor(make_impl(impl().storage, std::move(shape), std::move(strides), offset(), dtype()));
}

Tensor Tensor::slice(std::int64_t d, std::int64_t begin, std::int64_t end) const {
  d = normalize_dim(d, dim());
  SIEVE_CHECK(0 <= begin && begin <= end && end <= shape()[d], "slice [{}, {}) out of range for dim {} of {}",
              begin, end, d, shape_string(shape()));
  Shape shape = this->shape();
  shape[d] = end - begin;
  return Tensor(make_impl(impl().storage, std::move(shape), strides(), offset() + begin * strides()[d], dtype()));
}

Tensor Tensor::as_strided(Shape shape, Shape strides, std::int64_t offset) const {
  SIEVE_CHECK(shape.size() == strides.size(), "as_strided: shape and strides differ in rank");
  std::int64_t last = offset;
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] > 0) last += (shape[i] - 1) * strides[i];
  SIEVE_CHECK(offset >= 0 && (last + 1) * static_cast<std::int64_t>(dtype_size(dtype())) <=
                                 static_cast<std::int64_t>(impl().storage->nbytes()),
              "as_strided view runs past its storage");
  return Tensor(make_impl(impl().storage, std::move(shape), std::move(strides), offset, dtype()));
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype());
  out.copy_from(*this);
  return out;
}

Tensor Tensor::detach() const {
  return Tensor(make_impl(impl().storage, shape(), strides(), offset(), dtype()));
}

void Tensor::copy_from(const Tensor& source) {
  SIEVE_CHECK(source.shape() == shape(), "copy_from: shape {} into {}", shape_string(source.shape()),
              shape_string(shape()));
  SIEVE_CHECK(source.dtype() == dtype(), "copy_from: dtype {} into {}", dtype_name(source.dtype()),
              dtype_name(dtype()));
  if (is_contiguous() && source.is_contiguous()) {
    std::memmove(raw_data(), source.raw_data(), nbytes());
    return;
  }
  const std::size_t elem = dtype_size(dtype());
  std::vector<std::int64_t> destination;
  destination.reserve(static_cast<std::size_t>(numel()));
  for_each_offset(shape(), strides(), offset(), [&](std::int64_t at) { destination.push_back(at); });
  char* dst_base = static_cast<char*>(impl().storage->data());
  const char* src_base = static_cast<const char*>(source.impl().storage->data());
  std::size_t i = 0;
  for_each_offset(source.shape(), source.strides(), source.offset(), [&](std::int64_t at) {
    std::memcpy(dst_base + destination[i++] * static_cast<std::int64_t>(elem), src_base + at * static_cast<std::int64_t>(elem), elem);
  });
}

void Tensor::fill(double value) {
  void* base = impl().storage->data();
  const DType type = dtype();
  for_each_offset(shape(), strides(), offset(), [&](std::int64_t at) { store_from_double(base, type, at, value); });
}

Tensor& Tensor::set_requires_grad(bool value) {
  SIEVE_CHECK(!value || dtype_is_floating(dtype()), "only floating tensors can require grad, not {}",
              dtype_name(dtype()));
  impl().requires_grad = value;
  return *this;
}

}  // namespace sieve::core
