// Tensor: a shared, strided view of typed storage, plus the autograd slots.
//
// NOTE [Tensor handles]: a Tensor is a cheap handle to a TensorImpl. Copying a Tensor shares
// the impl (same grad, same graph node); a *view* (reshape, transpose, slice) gets a new impl
// that shares the Storage. Views here are raw and not differentiable; ops/ has the
// differentiable versions that record the graph. The autograd slots hold a graph node that
// core only forward-declares, so core stays below autograd in the layering.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sieve/core/dtype.h"
#include "sieve/core/error.h"

namespace sieve::autograd {
class Node;
}

namespace sieve::core {

using Shape = std::vector<std::int64_t>;

enum class DeviceType : std::uint8_t { cpu, cuda };
struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;
  bool operator==(const Device&) const = default;
};
std::string device_name(Device device);

// Bytes owned by the caching allocator, or borrowed (e.g. a memory-mapped file) with a
// release callback.
class Storage {
 public:
  Storage(std::size_t nbytes, Device device);
  Storage(void* borrowed, std::size_t nbytes, std::function<void()> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  std::size_t nbytes_ = 0;
  Device device_{};
  std::function<void()> release_;  // set for borrowed memory
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;  // in elements
  std::int64_t offset = 0;  // in elements
  DType dtype = DType::f32;
  // autograd slots (see NOTE [Tensor handles])
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<autograd::Node> grad_fn;
};

std::int64_t shape_numel(std::span<const std::int64_t> shape);
Shape contiguous_strides(std::span<const std::int64_t> shape);
std::string shape_string(std::span<const std::int64_t> shape);

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Factories. Memory from empty() is uninitialised.
  static Tensor empty(Shape shape, DType dtype = DType::f32, Device device = {});
  static Tensor zeros(Shape shape, DType dtype = DType::f32);
  static Tensor full(Shape shape, double value, DType dtype = DType::f32);
  static Tensor ones(Shape shape, DType dtype = DType::f32) { return full(std::move(shape), 1.0, dtype); }
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, Shape shape);
  // Wraps memory the tensor does not own (contiguous); `release` runs when the last view dies.
  static Tensor borrow(void* data, Shape shape, DType dtype, std::function<void()> release);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  std::int64_t offset() const { return impl().offset; }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  std::int64_t dim() const { return static_cast<std::int64_t>(impl().shape.size()); }
  // Size of dimension `d`; negative counts from the end.
  std::int64_t size(std::int64_t d) const;
  std::int64_t numel() const { return shape_numel(impl().shape); }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype()); }
  bool is_contiguous() const;
  bool same_storage(const Tensor& other) const { return impl().storage == other.impl().storage; }

  void* raw_data() const;
  template <typename T>
  T* data() const;
  // Copies out a contiguous f32 (or converts from bf16/f16) vector — for tests and small reads.
  std::vector<float> to_vector() const;
  // The value of a one-element floating tensor.
  double item() const;

  // Raw views (no autograd). Each shares storage; reshape requires a contiguous tensor.
  Tensor view(Shape shape) const;
  Tensor transpose(std::int64_t d0, std::int64_t d1) const;
  Tensor slice(std::int64_t d, std::int64_t begin, std::int64_t end) const;
  Tensor as_strided(Shape shape, Shape strides, std::int64_t offset) const;
  // A contiguous copy when needed (generic element loop; ops::contiguous is the fast, differentiable one).
  Tensor contiguous() const;
  Tensor clone() const;
  // Same storage and shape, no autograd history.
  Tensor detach() const;
  void copy_from(const Tensor& source);  // same shape & dtype; source may be strided
  void fill(double value);

  // Autograd slots.
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& set_requires_grad(bool value);
  Tensor grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }
  void set_grad(const Tensor& grad) { impl().grad = grad.impl_; }
  void zero_grad() { impl().grad.reset(); }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl().grad_fn; }
  void set_grad_fn(std::shared_ptr<autograd::Node> node) { impl().grad_fn = std::move(node); }
  bool is_leaf() const { return impl().grad_fn == nullptr; }

  TensorImpl& impl() const {
    SIEVE_CHECK(impl_ != nullptr, "use of an undefined tensor");
    return *impl_;
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

template <typename T>
constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<std::int8_t>() { return DType::i8; }
template <> constexpr DType dtype_of<std::uint8_t>() { return DType::u8; }
template <> constexpr DType dtype_of<std::int32_t>() { return DType::i32; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::i64; }

template <typename T>
T* Tensor::data() const {
  if constexpr (std::is_same_v<std::remove_const_t<T>, std::uint16_t>) {
    SIEVE_CHECK(dtype() == DType::bf16 || dtype() == DType::f16, "tensor is {}, not a 16-bit float",
                dtype_name(dtype()));
  } else {
    SIEVE_CHECK(dtype() == dtype_of<std::remove_const_t<T>>(), "tensor is {}, accessed as {}",
                dtype_name(dtype()), dtype_name(dtype_of<std::remove_const_t<T>>()));
  }
  return static_cast<T*>(raw_data());
}

template <typename T>
Tensor Tensor::from_vector(const std::vector<T>& values, Shape shape) {
  SIEVE_CHECK(shape_numel(shape) == static_cast<std::int64_t>(values.size()),
              "from_vector: {} values for shape {}", values.size(), shape_string(shape));
  Tensor t = empty(std::move(shape), dtype_of<T>());
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}

}  // namespace sieve::core
