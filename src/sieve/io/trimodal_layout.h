// What a trimodal config implies, worked out before anything is built (the trimodal counterpart
// of model_layout.h): the name and shape of every parameter nn::TriModalModel registers
// (tests/io/test_trimodal_layout.cpp keeps the two in step) and the memory the built model takes.
#pragma once

#include <string_view>
#include <vector>

#include "sieve/io/model_layout.h"
#include "sieve/nn/models/trimodal/trimodal_config.h"

namespace sieve::io {

// Every parameter of the model, with its full name, in registration order. The config's ranges
// (parse_trimodal_config) bound the list to a few thousand entries.
std::vector<TensorSpec> trimodal_parameters(const nn::TriModalConfig& config);

// The footprint of the model (f32 parameters plus kBookkeepingBytesPerTensor per tensor). An
// element count that overflows 64 bits is a UserError naming `source`.
ModelFootprint trimodal_footprint(const nn::TriModalConfig& config, std::string_view source);

}  // namespace sieve::io
