#include "sieve/core/dtype.h"

#include "sieve/core/error.h"

namespace sieve::core {
namespace {

struct DTypeInfo {
  DType dtype;
  std::size_t size;
  std::string_view name;
  std::string_view safetensors_name;
  bool floating;
};

constexpr DTypeInfo kInfo[] = {
    {DType::f32, 4, "f32", "F32", true},  {DType::bf16, 2, "bf16", "BF16", true},
    {DType::f16, 2, "f16", "F16", true},  {DType::i8, 1, "i8", "I8", false},
    {DType::u8, 1, "u8", "U8", false},    {DType::i32, 4, "i32", "I32", false},
    {DType::i64, 8, "i64", "I64", false},
};

const DTypeInfo& info(DType dtype) {
  const auto index = static_cast<std::size_t>(dtype);
  SIEVE_CHECK(index < std::size(kInfo), "unknown dtype {}", index);
  return kInfo[index];
}

}  // namespace

std::size_t dtype_size(DType dtype) { return info(dtype).size; }
std::string_view dtype_name(DType dtype) { return info(dtype).name; }
std::string_view dtype_safetensors_name(DType dtype) { return info(dtype).safetensors_name; }
bool dtype_is_floating(DType dtype) { return info(dtype).floating; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& entry : kInfo)
    if (name == entry.name || name == entry.safetensors_name) return entry.dtype;
  return std::nullopt;
}

}  // namespace sieve::core
