// Untrusted strings (names, keys, values from a file) cut short for error messages: a hostile
// file could otherwise put megabytes into one error.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sieve::io {

// `text` itself when short; its first 80 bytes and its length otherwise.
std::string brief_text(std::string_view text);
// A JSON value as it is written (strings in quotes, so their type shows), cut as brief_text.
std::string brief(const nlohmann::json& value);

}  // namespace sieve::io
