// The pieces of the extension module sieve._sieve (module.cpp puts them together). Each binds
// one part of the engine; none computes anything the engine does not (docs/python.md).
#pragma once

#include <pybind11/pybind11.h>

namespace sieve::python {

namespace py = pybind11;

void bind_errors(py::module_& m);     // errors.cpp: sieve.Error, sieve.UserError
void bind_tokenizer(py::module_& m);  // tokenizer.cpp: sieve.Tokenizer
void bind_model(py::module_& m);      // model.cpp: sieve.load → Model, GenerationStream
void bind_trainer(py::module_& m);    // trainer.cpp: MixedPrecisionTrainer, TrainResult
void bind_verbs(py::module_& m);      // verbs.cpp: finetune, quantize, export

}  // namespace sieve::python
