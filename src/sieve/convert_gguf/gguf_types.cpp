#include "sieve/convert_gguf/gguf_types.h"

#include <array>
#include <limits>

#include "sieve/core/error.h"

namespace sieve::convert_gguf {
namespace {

struct KnownType {
  GgmlType type;
  GgmlTypeTraits traits;
};

// Block sizes and bytes as ggml.c's type_traits table has them (QK_K = 256).
constexpr std::array<KnownType, 20> kKnownTypes{{
    {GgmlType::f32, {"f32", 1, 4}},
    {GgmlType::f16, {"f16", 1, 2}},
    {GgmlType::q4_0, {"q4_0", 32, 18}},
    {GgmlType::q4_1, {"q4_1", 32, 20}},
    {GgmlType::q5_0, {"q5_0", 32, 22}},
    {GgmlType::q5_1, {"q5_1", 32, 24}},
    {GgmlType::q8_0, {"q8_0", 32, 34}},
    {GgmlType::q8_1, {"q8_1", 32, 36}},
    {GgmlType::q2_k, {"q2_K", 256, 84}},
    {GgmlType::q3_k, {"q3_K", 256, 110}},
    {GgmlType::q4_k, {"q4_K", 256, 144}},
    {GgmlType::q5_k, {"q5_K", 256, 176}},
    {GgmlType::q6_k, {"q6_K", 256, 210}},
    {GgmlType::q8_k, {"q8_K", 256, 292}},
    {GgmlType::i8, {"i8", 1, 1}},
    {GgmlType::i16, {"i16", 1, 2}},
    {GgmlType::i32, {"i32", 1, 4}},
    {GgmlType::i64, {"i64", 1, 8}},
    {GgmlType::f64, {"f64", 1, 8}},
    {GgmlType::bf16, {"bf16", 1, 2}},
}};

bool is_integer_type(GgufValueType type) {
  switch (type) {
    case GgufValueType::u8: case GgufValueType::i8: case GgufValueType::u16: case GgufValueType::i16:
    case GgufValueType::u32: case GgufValueType::i32: case GgufValueType::u64: case GgufValueType::i64:
    case GgufValueType::boolean:
      return true;
    default:
      return false;
  }
}

std::optional<std::int64_t> integer_of(GgufValueType type, const GgufScalar& scalar) {
  if (!is_integer_type(type)) return std::nullopt;
  if (const auto* u = std::get_if<std::uint64_t>(&scalar)) {
    if (*u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(*u);
  }
  if (const auto* i = std::get_if<std::int64_t>(&scalar)) return *i;
  return std::nullopt;
}

std::optional<double> real_of(GgufValueType type, const GgufScalar& scalar) {
  if (type == GgufValueType::f32 || type == GgufValueType::f64) {
    if (const auto* d = std::get_if<double>(&scalar)) return *d;
    return std::nullopt;
  }
  if (const auto i = integer_of(type, scalar)) return static_cast<double>(*i);
  return std::nullopt;
}

const std::string* text_of(GgufValueType type, const GgufScalar& scalar) {
  return type == GgufValueType::string ? std::get_if<std::string>(&scalar) : nullptr;
}

}  // namespace

bool is_gguf_value_type(std::uint32_t raw) { return raw <= static_cast<std::uint32_t>(GgufValueType::f64); }

std::string_view gguf_value_type_name(GgufValueType type) {
  static constexpr std::array<std::string_view, 13> names{"u8",  "i8",     "u16",   "i16", "u32", "i32", "f32",
                                                          "bool", "string", "array", "u64", "i64", "f64"};
  const auto index = static_cast<std::uint32_t>(type);
  return index < names.size() ? names[index] : "unknown";
}

std::uint64_t gguf_scalar_bytes(GgufValueType type) {
  switch (type) {
    case GgufValueType::u8: case GgufValueType::i8: case GgufValueType::boolean: return 1;
    case GgufValueType::u16: case GgufValueType::i16: return 2;
    case GgufValueType::u32: case GgufValueType::i32: case GgufValueType::f32: return 4;
    case GgufValueType::u64: case GgufValueType::i64: case GgufValueType::f64: return 8;
    case GgufValueType::string: case GgufValueType::array: return 0;
  }
  return 0;
}

std::optional<GgmlTypeTraits> ggml_type_traits(std::uint32_t raw) {
  for (const KnownType& known : kKnownTypes)
    if (static_cast<std::uint32_t>(known.type) == raw) return known.traits;
  return std::nullopt;
}

GgmlTypeTraits ggml_type_traits(GgmlType type) {
  const auto traits = ggml_type_traits(static_cast<std::uint32_t>(type));
  SIEVE_CHECK(traits.has_value(), "ggml type {} is not in the table", static_cast<std::uint32_t>(type));
  return *traits;
}

std::string_view ggml_type_name(GgmlType type) { return ggml_type_traits(type).name; }

GgufValue GgufValue::u32(std::uint32_t value) { return {GgufValueType::u32, GgufValueType::u32, {std::uint64_t{value}}}; }
GgufValue GgufValue::i32(std::int32_t value) { return {GgufValueType::i32, GgufValueType::u32, {std::int64_t{value}}}; }
GgufValue GgufValue::f32(float value) { return {GgufValueType::f32, GgufValueType::u32, {double{value}}}; }
GgufValue GgufValue::boolean(bool value) {
  return {GgufValueType::boolean, GgufValueType::u32, {std::uint64_t{value ? 1u : 0u}}};
}
GgufValue GgufValue::string(std::string value) {
  return {GgufValueType::string, GgufValueType::u32, {std::move(value)}};
}
GgufValue GgufValue::strings(std::vector<std::string> values) {
  GgufValue out{GgufValueType::array, GgufValueType::string, {}};
  out.values.reserve(values.size());
  for (std::string& value : values) out.values.emplace_back(std::move(value));
  return out;
}
GgufValue GgufValue::f32s(const std::vector<float>& values) {
  GgufValue out{GgufValueType::array, GgufValueType::f32, {}};
  out.values.reserve(values.size());
  for (const float value : values) out.values.emplace_back(double{value});
  return out;
}
GgufValue GgufValue::i32s(const std::vector<std::int32_t>& values) {
  GgufValue out{GgufValueType::array, GgufValueType::i32, {}};
  out.values.reserve(values.size());
  for (const std::int32_t value : values) out.values.emplace_back(std::int64_t{value});
  return out;
}

std::optional<std::int64_t> GgufValue::integer() const {
  return is_array() || values.size() != 1 ? std::nullopt : integer_of(type, values[0]);
}
std::optional<double> GgufValue::real() const {
  return is_array() || values.size() != 1 ? std::nullopt : real_of(type, values[0]);
}
const std::string* GgufValue::text() const {
  return is_array() || values.size() != 1 ? nullptr : text_of(type, values[0]);
}
std::optional<std::int64_t> GgufValue::integer_at(std::size_t i) const {
  return is_array() && i < values.size() ? integer_of(element_type, values[i]) : std::nullopt;
}
std::optional<double> GgufValue::real_at(std::size_t i) const {
  return is_array() && i < values.size() ? real_of(element_type, values[i]) : std::nullopt;
}
const std::string* GgufValue::text_at(std::size_t i) const {
  return is_array() && i < values.size() ? text_of(element_type, values[i]) : nullptr;
}

}  // namespace sieve::convert_gguf
