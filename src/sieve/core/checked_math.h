// Overflow-checked integer arithmetic for sizes. Every size that comes from outside (a file's
// shape, a config's dimensions) is multiplied with these, so an overflow is noticed and
// reported instead of wrapping into a small, wrong allocation (or undefined behaviour).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace sieve::core {

// a * b and a + b, or nullopt if the result does not fit the type.
template <typename T>
constexpr std::optional<T> checked_mul(T a, T b) {
  T out{};
  if (__builtin_mul_overflow(a, b, &out)) return std::nullopt;
  return out;
}

template <typename T>
constexpr std::optional<T> checked_add(T a, T b) {
  T out{};
  if (__builtin_add_overflow(a, b, &out)) return std::nullopt;
  return out;
}

// ⌈a / b⌉ for a >= 0, b > 0, without the overflow of (a + b - 1) / b near the type's maximum.
constexpr std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

// The element count of `shape`, or nullopt if an extent is negative or the product of the
// extents other than zero overflows int64. Ignoring zeros in the overflow test keeps the
// contiguous strides of an empty tensor ([0, 2^40, 2^40] has a stride of 2^80) from overflowing.
constexpr std::optional<std::int64_t> checked_numel(std::span<const std::int64_t> shape) {
  std::int64_t nonzero = 1;
  bool empty = false;
  for (const std::int64_t extent : shape) {
    if (extent < 0) return std::nullopt;
    if (extent == 0) {
      empty = true;
      continue;
    }
    const auto product = checked_mul(nonzero, extent);
    if (!product) return std::nullopt;
    nonzero = *product;
  }
  return empty ? 0 : nonzero;
}

// checked_numel(shape) * element_size bytes, or nullopt on overflow (of int64: byte counts are
// compared and offset as signed numbers throughout).
constexpr std::optional<std::int64_t> checked_nbytes(std::span<const std::int64_t> shape, std::size_t element_size) {
  const auto numel = checked_numel(shape);
  if (!numel) return std::nullopt;
  return checked_mul(*numel, static_cast<std::int64_t>(element_size));
}

}  // namespace sieve::core
