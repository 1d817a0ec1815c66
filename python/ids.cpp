#include "python/ids.h"

#include <string>

#include "sieve/core/error.h"

namespace sieve::python {

py::array_t<std::int64_t, py::array::c_style> ids_as_int64(const py::handle& ids, std::int64_t vocab_size) {
  // Anything NumPy sees as an integer array; floats, strings and ragged lists are refused rather
  // than rounded.
  py::array array;
  try {
    array = py::array::ensure(ids);
  } catch (const py::error_already_set&) {
  }
  if (!array || (array.size() > 0 && array.dtype().kind() != 'i' && array.dtype().kind() != 'u'))
    throw py::type_error("token ids must be a sequence of ints or an integer NumPy array, got " +
                         std::string(py::str(py::type::handle_of(ids).attr("__name__"))) +
                         (array ? " of dtype " + std::string(py::str(array.dtype())) : std::string()));
  auto ints = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(array);
  if (!ints) throw py::error_already_set();
  const std::int64_t* data = ints.data();
  for (py::ssize_t i = 0; i < ints.size(); ++i)
    SIEVE_USER_CHECK(data[i] >= 0 && data[i] < vocab_size,
                     "token id {} at position {} is outside the vocabulary [0, {})", data[i], i, vocab_size);
  return ints;
}

std::vector<std::int32_t> ids_as_int32(const py::handle& ids, std::int64_t vocab_size) {
  const auto ints = ids_as_int64(ids, vocab_size);
  SIEVE_USER_CHECK(ints.ndim() == 1, "token ids must be one sequence (1-D), got {} dimensions", ints.ndim());
  return std::vector<std::int32_t>(ints.data(), ints.data() + ints.size());
}

}  // namespace sieve::python
