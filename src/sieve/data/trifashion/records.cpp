#include "sieve/data/trifashion/records.h"

namespace sieve::data::trifashion {

std::string_view split_name(Split split) { return split == Split::kTrain ? "train" : "test"; }

}  // namespace sieve::data::trifashion
