#include "sieve/convert_torch/storage_types.h"

#include <array>
#include <cstring>
#include <vector>

#include "sieve/core/dtype.h"
#include "sieve/core/error.h"

namespace sieve::convert_torch {
namespace {

constexpr std::array<TorchStorageType, 10> kStorageTypes{{
    {"FloatStorage", TorchDType::f32, "float32", 4},
    {"HalfStorage", TorchDType::f16, "float16", 2},
    {"BFloat16Storage", TorchDType::bf16, "bfloat16", 2},
    {"DoubleStorage", TorchDType::f64, "float64", 8},
    {"LongStorage", TorchDType::i64, "int64", 8},
    {"IntStorage", TorchDType::i32, "int32", 4},
    {"ShortStorage", TorchDType::i16, "int16", 2},
    {"CharStorage", TorchDType::i8, "int8", 1},
    {"ByteStorage", TorchDType::u8, "uint8", 1},
    {"BoolStorage", TorchDType::boolean, "bool", 1},
}};

template <typename T>
T load(const std::byte* at) {
  T value;
  std::memcpy(&value, at, sizeof(T));
  return value;
}

}  // namespace

std::optional<TorchStorageType> storage_type_from_class(std::string_view class_name) {
  for (const TorchStorageType& type : kStorageTypes)
    if (type.class_name == class_name) return type;
  return std::nullopt;
}

TorchStorageType storage_type_of(TorchDType dtype) {
  for (const TorchStorageType& type : kStorageTypes)
    if (type.dtype == dtype) return type;
  SIEVE_CHECK(false, "unknown TorchDType {}", static_cast<int>(dtype));
}

bool is_floating(TorchDType dtype) {
  return dtype == TorchDType::f32 || dtype == TorchDType::f16 || dtype == TorchDType::bf16 || dtype == TorchDType::f64;
}

namespace {

// Element `index` of the storage as f32.
template <TorchDType dtype>
float element(const std::byte* storage, std::int64_t index) {
  if constexpr (dtype == TorchDType::f32) return load<float>(storage + index * 4);
  if constexpr (dtype == TorchDType::f16) return core::f16_bits_to_f32(load<std::uint16_t>(storage + index * 2));
  if constexpr (dtype == TorchDType::bf16) return core::bf16_bits_to_f32(load<std::uint16_t>(storage + index * 2));
  if constexpr (dtype == TorchDType::f64) return static_cast<float>(load<double>(storage + index * 8));
}

// Walks the view's indices in row-major order (the last dimension innermost).
template <TorchDType dtype>
void gather(const std::byte* storage, std::int64_t offset, std::span<const std::int64_t> shape,
            std::span<const std::int64_t> strides, float* out) {
  const std::size_t rank = shape.size();
  if (rank == 0) {
    *out = element<dtype>(storage, offset);
    return;
  }
  for (const std::int64_t extent : shape)
    if (extent == 0) return;
  std::vector<std::int64_t> index(rank, 0);
  const std::int64_t inner = shape[rank - 1], inner_stride = strides[rank - 1];
  std::int64_t row_start = offset;
  while (true) {
    for (std::int64_t i = 0; i < inner; ++i) *out++ = element<dtype>(storage, row_start + i * inner_stride);
    // Advance the outer indices like an odometer.
    std::size_t d = rank - 1;
    while (d > 0) {
      --d;
      row_start += strides[d];
      if (++index[d] < shape[d]) break;
      row_start -= strides[d] * shape[d];
      index[d] = 0;
      if (d == 0) return;
    }
    if (rank == 1) return;
  }
}

}  // namespace

void strided_to_f32(std::span<const std::byte> storage, TorchDType dtype, std::int64_t offset,
                    std::span<const std::int64_t> shape, std::span<const std::int64_t> strides, float* out) {
  SIEVE_CHECK(shape.size() == strides.size(), "shape and strides differ in rank");
  switch (dtype) {
    case TorchDType::f32: return gather<TorchDType::f32>(storage.data(), offset, shape, strides, out);
    case TorchDType::f16: return gather<TorchDType::f16>(storage.data(), offset, shape, strides, out);
    case TorchDType::bf16: return gather<TorchDType::bf16>(storage.data(), offset, shape, strides, out);
    case TorchDType::f64: return gather<TorchDType::f64>(storage.data(), offset, shape, strides, out);
    default: SIEVE_CHECK(false, "strided_to_f32 of the non-floating type {}", storage_type_of(dtype).dtype_name);
  }
}

}  // namespace sieve::convert_torch
