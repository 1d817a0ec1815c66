#include "sieve/serve_grpc/grpc_status.h"

#include <exception>

#include "sieve/core/error.h"

namespace sieve::serve {

grpc::StatusCode grpc_status_code(Code code) {
  switch (code) {
    case Code::ok: return grpc::StatusCode::OK;
    case Code::invalid_argument: return grpc::StatusCode::INVALID_ARGUMENT;
    case Code::not_found: return grpc::StatusCode::NOT_FOUND;
    case Code::resource_exhausted: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case Code::unavailable: return grpc::StatusCode::UNAVAILABLE;
    case Code::unauthenticated: return grpc::StatusCode::UNAUTHENTICATED;
    case Code::failed_precondition: return grpc::StatusCode::FAILED_PRECONDITION;
    case Code::deadline_exceeded: return grpc::StatusCode::DEADLINE_EXCEEDED;
    case Code::cancelled: return grpc::StatusCode::CANCELLED;
    case Code::internal: return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::INTERNAL;
}

grpc::Status to_grpc_status(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(grpc_status_code(status.code), status.message);
}

grpc::Status answer_guarded(const std::function<grpc::Status()>& handler) {
  try {
    return handler();
  } catch (const core::UserError& e) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, e.what());
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::INTERNAL, e.what());
  }
}

}  // namespace sieve::serve
