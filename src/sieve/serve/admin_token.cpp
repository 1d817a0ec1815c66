#include <fmt/format.h>

#include <fstream>
#include <random>
#include <sstream>

#include "sieve/core/error.h"
#include "sieve/serve/service.h"

namespace sieve::serve {

AdminToken AdminToken::from_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  SIEVE_USER_CHECK(in.good(), "--admin-token-file: cannot read '{}'", file.string());
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  const auto not_space = token.find_last_not_of(" \t\r\n");
  token.erase(not_space == std::string::npos ? 0 : not_space + 1);
  token.erase(0, token.find_first_not_of(" \t\r\n"));
  SIEVE_USER_CHECK(token.size() >= 16, "--admin-token-file '{}': the token must have at least 16 characters",
                   file.string());
  SIEVE_USER_CHECK(token.find_first_of(" \t\r\n") == std::string::npos,
                   "--admin-token-file '{}': the token must be one line without spaces", file.string());
  return AdminToken(std::move(token));
}

AdminToken AdminToken::random() {
  std::random_device device;
  std::string token;
  for (int i = 0; i < 4; ++i) token += fmt::format("{:08x}", static_cast<std::uint32_t>(device()));
  return AdminToken(std::move(token));
}

bool AdminToken::accepts(std::string_view authorization) const {
  constexpr std::string_view kScheme = "Bearer ";
  if (!authorization.starts_with(kScheme)) return false;
  const std::string_view given = authorization.substr(kScheme.size());
  // Constant time in the token's content: every byte is compared whatever differs first.
  unsigned char difference = given.size() == token_.size() ? 0 : 1;
  for (std::size_t i = 0; i < token_.size(); ++i)
    difference |= static_cast<unsigned char>(token_[i] ^ (i < given.size() ? given[i] : 0));
  return difference == 0;
}

}  // namespace sieve::serve
