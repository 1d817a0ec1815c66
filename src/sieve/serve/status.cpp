#include "sieve/serve/status.h"

namespace sieve::serve {

const char* code_name(Code code) {
  switch (code) {
    case Code::ok: return "ok";
    case Code::invalid_argument: return "invalid_argument";
    case Code::not_found: return "not_found";
    case Code::resource_exhausted: return "resource_exhausted";
    case Code::unavailable: return "unavailable";
    case Code::unauthenticated: return "unauthenticated";
    case Code::failed_precondition: return "failed_precondition";
    case Code::deadline_exceeded: return "deadline_exceeded";
    case Code::cancelled: return "cancelled";
    case Code::internal: return "internal";
  }
  return "internal";
}

int http_status(Code code) {
  switch (code) {
    case Code::ok: return 200;
    case Code::invalid_argument: return 400;
    case Code::not_found: return 404;
    case Code::resource_exhausted: return 429;
    case Code::unavailable: return 503;
    case Code::unauthenticated: return 401;
    case Code::failed_precondition: return 422;
    case Code::deadline_exceeded: return 504;
    case Code::cancelled: return 499;
    case Code::internal: return 500;
  }
  return 500;
}

}  // namespace sieve::serve
