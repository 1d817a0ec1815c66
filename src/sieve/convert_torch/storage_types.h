// The element types of PyTorch storages as a state-dict pickle names them (torch.FloatStorage,
// ...), and their conversion to the f32 Sieve computes in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace sieve::convert_torch {

enum class TorchDType : std::uint8_t { f32, f16, bf16, f64, i64, i32, i16, i8, u8, boolean };

struct TorchStorageType {
  std::string_view class_name;  // "FloatStorage": the global torch.<class_name>
  TorchDType dtype;
  std::string_view dtype_name;  // "float32", as torch names it
  std::size_t element_size;
};

// The storage type of the global torch.<class_name>, or nullopt if it is not a storage class.
std::optional<TorchStorageType> storage_type_from_class(std::string_view class_name);
TorchStorageType storage_type_of(TorchDType dtype);

// True for the types a Sieve parameter can be read from (f32, f16, bf16, f64).
bool is_floating(TorchDType dtype);

// Copies the strided view (offset, shape, strides in elements) of little-endian `storage`
// holding `dtype` values (is_floating only) into the contiguous f32 `out` (numel(shape) values).
// The caller has checked that every element of the view lies inside the storage.
void strided_to_f32(std::span<const std::byte> storage, TorchDType dtype, std::int64_t offset,
                    std::span<const std::int64_t> shape, std::span<const std::int64_t> strides, float* out);

}  // namespace sieve::convert_torch
