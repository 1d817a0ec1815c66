// Model: what every model family shares with the code that trains, checkpoints, loads and
// serves it — a Module (named parameters, training mode) that names its family. config.json
// records the family ("model_type"); io::load_any_model (io/model_family.h) reads it and builds
// the family's class, so the LLaMA decoder and the trimodal model load through one path.
#pragma once

#include <string>

#include "sieve/nn/module.h"

namespace sieve::nn {

class Model : public Module {
 public:
  // config.json's model_type: "llama", "sieve_trimodal".
  virtual std::string family() const = 0;
};

}  // namespace sieve::nn
