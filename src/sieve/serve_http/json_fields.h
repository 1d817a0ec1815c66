// Typed reading of a JSON request body. A field that is absent or null reads as nullopt (OpenAI
// treats null as "use the default"); a present field of the wrong type throws BadRequest
// naming it. Unknown fields are the caller's to ignore.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace sieve::serve_http {

// The body as a JSON object; BadRequest when it is not valid JSON or not an object.
nlohmann::json parse_json_object(const std::string& body);

std::optional<std::string> string_field(const nlohmann::json& object, const std::string& name);
std::optional<bool> bool_field(const nlohmann::json& object, const std::string& name);
// A JSON integer that fits an int64 (1.0 and 1e3 are numbers, not integers).
std::optional<std::int64_t> integer_field(const nlohmann::json& object, const std::string& name);
// Any JSON number.
std::optional<double> number_field(const nlohmann::json& object, const std::string& name);

}  // namespace sieve::serve_http
