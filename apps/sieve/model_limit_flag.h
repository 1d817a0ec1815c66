// --max-model-bytes SIZE: the memory a model built from a config or model directory may take
// (io::check_model_fits; default: the machine's physical memory). main.cpp registers it on
// every verb that builds one.
#pragma once

#include <CLI/CLI.hpp>

namespace sieve::apps {

void add_max_model_bytes_flag(CLI::App* command);

}  // namespace sieve::apps
