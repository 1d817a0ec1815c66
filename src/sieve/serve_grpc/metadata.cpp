#include "sieve/serve_grpc/metadata.h"

namespace sieve::serve {

std::optional<std::string> metadata_value(const grpc::ServerContext& context, std::string_view key) {
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

}  // namespace sieve::serve
