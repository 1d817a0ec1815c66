#include "sieve/nn/models/trimodal/trimodal_config.h"

namespace sieve::nn {

std::string_view fusion_mode_name(FusionMode mode) {
  switch (mode) {
    case FusionMode::kCmaf: return "cmaf";
    case FusionMode::kFixed: return "fixed";
    case FusionMode::kConcat: return "concat";
  }
  return "cmaf";
}

bool parse_fusion_mode(std::string_view name, FusionMode& mode) {
  for (const FusionMode m : {FusionMode::kCmaf, FusionMode::kFixed, FusionMode::kConcat}) {
    if (name == fusion_mode_name(m)) {
      mode = m;
      return true;
    }
  }
  return false;
}

}  // namespace sieve::nn
