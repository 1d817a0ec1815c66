// Reading the fields of an untrusted config.json object: each reader checks the field's type
// and range and names the file and the field in its core::UserError. Shared by the config
// parsers of the model families (model_config.h, trimodal_config.h).
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sieve/core/error.h"
#include "sieve/io/brief_text.h"

namespace sieve::io {

// Reads fields of one JSON object, naming the file and the field in every error.
class FieldReader {
 public:
  FieldReader(const nlohmann::json& object, std::string source) : object_(object), source_(std::move(source)) {}

  template <typename... Args>
  [[noreturn]] void fail(std::string_view field, fmt::format_string<Args...> format, Args&&... args) const {
    core::throw_user_error("{}: field '{}': {}", source_, field, fmt::format(format, std::forward<Args>(args)...));
  }

  const nlohmann::json* find(std::string_view field) const {
    const auto it = object_.find(field);
    return it == object_.end() ? nullptr : &*it;
  }

  std::int64_t integer(std::string_view field, std::int64_t min, std::int64_t max) const {
    const nlohmann::json* value = find(field);
    if (value == nullptr) fail(field, "missing (expected an integer in [{}, {}])", min, max);
    return integer_value(field, *value, min, max);
  }
  std::int64_t integer_or(std::string_view field, std::int64_t fallback, std::int64_t min,
                          std::int64_t max) const {
    const nlohmann::json* value = find(field);
    return value == nullptr ? fallback : integer_value(field, *value, min, max);
  }

  double number_in_or(std::string_view field, double fallback, double min, double max) const {
    const nlohmann::json* value = find(field);
    if (value == nullptr) return fallback;
    if (!value->is_number()) fail(field, "expected a number in [{}, {}], got {}", min, max, brief(*value));
    const double number = value->get<double>();
    if (!(number >= min && number <= max))
      fail(field, "expected a number in [{}, {}], got {}", min, max, brief(*value));
    return number;
  }

  double positive_number_or(std::string_view field, double fallback) const {
    const nlohmann::json* value = find(field);
    if (value == nullptr) return fallback;
    if (!value->is_number()) fail(field, "expected a number > 0, got {}", brief(*value));
    const double number = value->get<double>();
    if (!std::isfinite(number) || number <= 0) fail(field, "expected a finite number > 0, got {}", brief(*value));
    return number;
  }

  bool boolean_or(std::string_view field, bool fallback) const {
    const nlohmann::json* value = find(field);
    if (value == nullptr) return fallback;
    if (!value->is_boolean()) fail(field, "expected true or false, got {}", brief(*value));
    return value->get<bool>();
  }

  std::optional<std::string> string(std::string_view field) const {
    const nlohmann::json* value = find(field);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) fail(field, "expected a string, got {}", brief(*value));
    return value->get<std::string>();
  }

 private:
  std::int64_t integer_value(std::string_view field, const nlohmann::json& value, std::int64_t min, std::int64_t max) const {
    // is_number_integer() is true for both signed and unsigned JSON integers, never for 2.0.
    if (!value.is_number_integer()) fail(field, "expected an integer in [{}, {}], got {}", min, max, brief(value));
    const bool in_range = value.is_number_unsigned()
                              ? value.get<std::uint64_t>() <= static_cast<std::uint64_t>(max) &&
                                    static_cast<std::int64_t>(value.get<std::uint64_t>()) >= min
                              : value.get<std::int64_t>() >= min && value.get<std::int64_t>() <= max;
    if (!in_range) fail(field, "expected an integer in [{}, {}], got {}", min, max, brief(value));
    return value.get<std::int64_t>();
  }

  const nlohmann::json& object_;
  std::string source_;
};

}  // namespace sieve::io
