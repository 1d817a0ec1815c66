// sieve.Tokenizer: a model's SentencePiece tokenizer (data/tokenizer.h).
#include "sieve/data/tokenizer.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "python/bindings.h"
#include "python/ids.h"
#include "sieve/io/model_dir.h"

namespace sieve::python {

void bind_tokenizer(py::module_& m) {
  py::class_<data::Tokenizer>(m, "Tokenizer", "A SentencePiece tokenizer: a model directory's tokenizer.model.")
      .def(py::init([](const std::filesystem::path& path) {
             // A model directory means its tokenizer.model.
             return data::Tokenizer::load(std::filesystem::is_directory(path) ? path / io::kTokenizerFile : path);
           }),
           py::arg("path"), "Loads a tokenizer.model file, or the one in a model directory.")
      .def(
          "encode", [](const data::Tokenizer& self, const std::string& text) { return self.encode(text); },
          py::arg("text"), "The ids of `text`'s pieces (no BOS/EOS added).")
      .def(
          "decode",
          [](const data::Tokenizer& self, const py::handle& ids) {
            const std::vector<std::int32_t> values = ids_as_int32(ids, self.vocab_size());
            return self.decode(values);
          },
          py::arg("ids"), "The text of a sequence of ids (a list or a 1-D integer NumPy array).")
      .def_property_readonly("vocab_size", &data::Tokenizer::vocab_size, "Number of pieces.")
      .def_property_readonly("bos_id", &data::Tokenizer::bos_id, "Beginning-of-sequence id (-1: none).")
      .def_property_readonly("eos_id", &data::Tokenizer::eos_id, "End-of-sequence id (-1: none).")
      .def("__repr__", [](const data::Tokenizer& self) {
        return "<sieve.Tokenizer with " + std::to_string(self.vocab_size()) + " pieces>";
      });
}

}  // namespace sieve::python
