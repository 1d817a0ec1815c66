// sieve._sieve: the extension module behind the `sieve` package (python/sieve/__init__.py).
#include "python/bindings.h"

PYBIND11_MODULE(_sieve, m) {
  m.doc() = "Sieve's engine: training, models, generation, compression and export (see the sieve package)";
  m.attr("__version__") = SIEVE_VERSION;
  sieve::python::bind_errors(m);
  sieve::python::bind_tokenizer(m);
  sieve::python::bind_model(m);
  sieve::python::bind_trainer(m);
  sieve::python::bind_verbs(m);
}
