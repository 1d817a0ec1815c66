// Engine errors as Python exceptions, with the messages the CLI prints after "sieve: error:":
// core::UserError (bad input: a file, flag, option) → sieve.UserError, any other engine failure
// → sieve.Error, its base.
#include <exception>
#include <filesystem>

#include "python/bindings.h"
#include "sieve/core/error.h"

namespace sieve::python {

void bind_errors(py::module_& m) {
  static py::exception<core::Error> error(m, "Error");
  error.doc() = "Base of Sieve's errors: a failure inside the engine.";
  static py::exception<core::UserError> user_error(m, "UserError", error.ptr());
  user_error.doc() = "Bad input (a file, directory, dataset or argument); the message says what was expected.";
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const core::UserError& e) {
      user_error(e.what());
    } catch (const core::Error& e) {
      error(e.what());
    } catch (const std::filesystem::filesystem_error& e) {
      error(e.what());
    }
  });
}

}  // namespace sieve::python
