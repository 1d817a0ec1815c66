#include "sieve/io/brief_text.h"

#include <fmt/format.h>

namespace sieve::io {

std::string brief_text(std::string_view text) {
  constexpr std::size_t kLimit = 80;
  if (text.size() <= kLimit) return std::string(text);
  return fmt::format("{}... ({} bytes)", text.substr(0, kLimit), text.size());
}

std::string brief(const nlohmann::json& value) { return brief_text(value.dump()); }

}  // namespace sieve::io
