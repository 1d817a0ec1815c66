#include "sieve/serve_http/json_fields.h"

#include <fmt/format.h>

#include <limits>

#include "sieve/serve_http/http_reply.h"

namespace sieve::serve_http {
namespace {

// The field, or null when absent.
const nlohmann::json* present_field(const nlohmann::json& object, const std::string& name) {
  const auto found = object.find(name);
  if (found == object.end() || found->is_null()) return nullptr;
  return &*found;
}

[[noreturn]] void wrong_type(const std::string& name, const char* expected, const nlohmann::json& value) {
  throw BadRequest(fmt::format("'{}' must be {}, not {}", name, expected, value.type_name()), name);
}

}  // namespace

nlohmann::json parse_json_object(const std::string& body) {
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) throw BadRequest("the request body is not valid JSON");
  if (!parsed.is_object())
    throw BadRequest(fmt::format("the request body must be a JSON object, not {}", parsed.type_name()));
  return parsed;
}

std::optional<std::string> string_field(const nlohmann::json& object, const std::string& name) {
  const nlohmann::json* value = present_field(object, name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) wrong_type(name, "a string", *value);
  return value->get<std::string>();
}

std::optional<bool> bool_field(const nlohmann::json& object, const std::string& name) {
  const nlohmann::json* value = present_field(object, name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) wrong_type(name, "a boolean", *value);
  return value->get<bool>();
}

std::optional<std::int64_t> integer_field(const nlohmann::json& object, const std::string& name) {
  const nlohmann::json* value = present_field(object, name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number_integer()) wrong_type(name, "an integer", *value);
  if (value->is_number_unsigned() && value->get<std::uint64_t>() > std::numeric_limits<std::int64_t>::max())
    throw BadRequest(fmt::format("'{}' is too large", name), name);
  return value->get<std::int64_t>();
}

std::optional<double> number_field(const nlohmann::json& object, const std::string& name) {
  const nlohmann::json* value = present_field(object, name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number()) wrong_type(name, "a number", *value);
  return value->get<double>();
}

}  // namespace sieve::serve_http
