// The vocabulary of the GGUF file format (llama.cpp's `gguf.h` / `ggml.h`, version 3): the types a
// metadata value can have, the ggml tensor types with their block layouts, and a metadata value.
// NOTE [GGUF layout] — all little-endian:
//   "GGUF" u32 version | u64 tensor_count | u64 kv_count
//   kv_count × (string key, u32 value_type, value)      string = u64 length + bytes (no NUL)
//   tensor_count × (string name, u32 n_dims, n_dims × u64 ne, u32 ggml_type, u64 offset)
//   padding to `general.alignment` (default 32) | data section
// ne[0] is the innermost (contiguous) extent: a PyTorch weight [out, in] is ne = {in, out}.
// A tensor's offset is relative to the data section and a multiple of the alignment.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sieve::convert_gguf {

inline constexpr std::uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
inline constexpr std::uint32_t kGgufVersion = 3;
inline constexpr std::uint64_t kGgufDefaultAlignment = 32;
inline constexpr const char* kAlignmentKey = "general.alignment";

enum class GgufValueType : std::uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
  string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};

// Whether `raw` names a GgufValueType.
bool is_gguf_value_type(std::uint32_t raw);
std::string_view gguf_value_type_name(GgufValueType type);
// Bytes of one scalar of `type` (0 for string and array, whose size varies).
std::uint64_t gguf_scalar_bytes(GgufValueType type);

// ggml tensor types. Only those with a fixed, documented block layout are listed; a file with
// any other id is refused by the reader.
enum class GgmlType : std::uint32_t {
  f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9,
  q2_k = 10, q3_k = 11, q4_k = 12, q5_k = 13, q6_k = 14, q8_k = 15,
  i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, bf16 = 30,
};

struct GgmlTypeTraits {
  std::string_view name;         // llama.cpp's spelling: "f32", "q8_0", "q4_K"
  std::int64_t block_elements;   // elements a block holds (1 for plain types)
  std::int64_t block_bytes;      // bytes a block takes
};

// The traits of a known type id, or nullopt.
std::optional<GgmlTypeTraits> ggml_type_traits(std::uint32_t raw);
GgmlTypeTraits ggml_type_traits(GgmlType type);
std::string_view ggml_type_name(GgmlType type);

// One metadata value: a scalar, or an array of scalars of one type (arrays of arrays are not
// accepted: llama.cpp does not read them either). Integers and booleans are kept as u64 or i64,
// floats as double (f32 → double → f32 is exact), strings as bytes.
using GgufScalar = std::variant<std::uint64_t, std::int64_t, double, std::string>;

struct GgufValue {
  GgufValueType type = GgufValueType::u32;
  GgufValueType element_type = GgufValueType::u32;  // arrays only
  std::vector<GgufScalar> values;                    // one for a scalar; the elements of an array

  static GgufValue u32(std::uint32_t value);
  static GgufValue i32(std::int32_t value);
  static GgufValue f32(float value);
  static GgufValue boolean(bool value);
  static GgufValue string(std::string value);
  static GgufValue strings(std::vector<std::string> values);
  static GgufValue f32s(const std::vector<float>& values);
  static GgufValue i32s(const std::vector<std::int32_t>& values);

  bool is_array() const { return type == GgufValueType::array; }
  // A scalar integer (any integer type, or bool), or nullopt for other types and u64 above int64.
  std::optional<std::int64_t> integer() const;
  // A scalar float (f32, f64), or an integer type converted, or nullopt.
  std::optional<double> real() const;
  // A scalar string, or null.
  const std::string* text() const;
  // Element i of an array, as integer() / real() / text() read a scalar.
  std::optional<std::int64_t> integer_at(std::size_t i) const;
  std::optional<double> real_at(std::size_t i) const;
  const std::string* text_at(std::size_t i) const;
};

}  // namespace sieve::convert_gguf
