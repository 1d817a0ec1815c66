// Errors. Two kinds, one mechanism:
//  * SIEVE_CHECK(cond, fmt, args...) guards internal invariants and shape contracts; it throws
//    sieve::core::Error with the file/line and a formatted message.
//  * sieve::core::UserError (thrown with SIEVE_USER_CHECK or throw_user_error) reports bad
//    input from a user — a file, config, flag or request. The CLI turns it into a clear
//    message and a non-zero exit; a server turns it into an error status. Never a crash.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace sieve::core {

// An internal invariant failed: a bug in Sieve or a caller breaking a documented contract.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input from outside (file, config, flag, request). The message names the thing and what
// was expected, so the user can act on it.
class UserError : public Error {
 public:
  using Error::Error;
};

[[noreturn]] void throw_check_failure(const char* file, int line, const char* condition,
                                      const std::string& message);

template <typename... Args>
[[noreturn]] void throw_user_error(fmt::format_string<Args...> format, Args&&... args) {
  throw UserError(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace sieve::core

#define SIEVE_CHECK(cond, ...)                                                              \
  do {                                                                                      \
    if (!(cond)) [[unlikely]]                                                               \
      ::sieve::core::throw_check_failure(__FILE__, __LINE__, #cond, ::fmt::format(__VA_ARGS__)); \
  } while (0)

#define SIEVE_USER_CHECK(cond, ...)                                \
  do {                                                             \
    if (!(cond)) [[unlikely]]                                      \
      ::sieve::core::throw_user_error(__VA_ARGS__);                \
  } while (0)
