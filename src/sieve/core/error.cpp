#include "sieve/core/error.h"

namespace sieve::core {

void throw_check_failure(const char* file, int line, const char* condition,
                         const std::string& message) {
  throw Error(fmt::format("{} [check '{}' failed at {}:{}]", message, condition, file, line));
}

}  // namespace sieve::core
