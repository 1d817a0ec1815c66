// Reading a call's client metadata (gRPC's request headers).
#pragma once

#include <grpcpp/server_context.h>

#include <optional>
#include <string>
#include <string_view>

namespace sieve::serve {

// The first value of metadata entry `key` (lower case, as gRPC delivers keys), or nullopt.
std::optional<std::string> metadata_value(const grpc::ServerContext& context, std::string_view key);

}  // namespace sieve::serve
