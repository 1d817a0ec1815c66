// `sieve eval --task trifashion`: every trifashion measurement of a trained trimodal model
// directory on a data set's test split (multimodal/evaluation.h), as text or one JSON line.
#pragma once

#include <cstdint>
#include <string>

namespace sieve::apps {

struct TrifashionEvalRequest {
  std::string model_dir;
  std::string data_dir;
  std::string question_inputs;  // empty: what the model's run trained with (trifashion.json), else all three
  std::string corrupt;          // empty: likewise, else "none"
  std::int64_t limit = 0;       // examples per measurement (0: all)
  std::int64_t batch = 128;
  bool json = false;
};

void run_trifashion_eval(const TrifashionEvalRequest& request);

}  // namespace sieve::apps
