// The core's status codes as gRPC status codes (the table in serve/status.h), and the guard
// that turns an exception escaping a handler into a status instead of a dead connection.
#pragma once

#include <grpcpp/support/status.h>

#include <functional>

#include "sieve/serve/status.h"

namespace sieve::serve {

grpc::StatusCode grpc_status_code(Code code);
grpc::Status to_grpc_status(const Status& status);

// Runs `handler`; a core::UserError it throws answers INVALID_ARGUMENT, any other exception
// INTERNAL, each with the exception's message.
grpc::Status answer_guarded(const std::function<grpc::Status()>& handler);

}  // namespace sieve::serve
