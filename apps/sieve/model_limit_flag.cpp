#include "apps/sieve/model_limit_flag.h"

#include "sieve/core/error.h"
#include "sieve/io/model_limits.h"

namespace sieve::apps {

void add_max_model_bytes_flag(CLI::App* command) {
  command
      ->add_option_function<std::uint64_t>(
          "--max-model-bytes",
          [](const std::uint64_t& bytes) {
            SIEVE_USER_CHECK(bytes > 0, "--max-model-bytes must be more than 0 bytes");
            io::set_max_model_bytes(bytes);
          },
          "Refuse a model whose f32 parameters take more than SIZE (e.g. 512M, 8G; default: this machine's memory)")
      ->transform(CLI::AsSizeValue(false));
}

}  // namespace sieve::apps
