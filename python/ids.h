// Token ids from Python: a sequence of ints or an integer NumPy array, checked (a TypeError for
// anything else, a sieve.UserError for an id out of range) and viewed as int64 without a copy
// when it already is one.
#pragma once

#include <pybind11/numpy.h>

#include <cstdint>
#include <vector>

namespace sieve::python {

namespace py = pybind11;

// A C-contiguous int64 array of the ids (the caller's own array when it is one already).
// Checks every id is in [0, vocab_size).
py::array_t<std::int64_t, py::array::c_style> ids_as_int64(const py::handle& ids, std::int64_t vocab_size);
// The same as a 1-D vector of int32.
std::vector<std::int32_t> ids_as_int32(const py::handle& ids, std::int64_t vocab_size);

}  // namespace sieve::python
