// Ends generated text at the first of a request's stop strings (OpenAI's `stop`): the text up to
// it is kept, the stop string and anything after it dropped. While streaming, a tail that could
// be the start of a stop string is held back until it is known not to be one, so a client never
// sees part of a stop string.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sieve::serve {

class StopMatcher {
 public:
  // Empty strings never match.
  explicit StopMatcher(std::vector<std::string> stops);

  // Appends newly decoded text; returns what can be released now. After a stop string appears,
  // stopped() is true and nothing more is released.
  std::string push(std::string_view text);
  // The held-back tail, when generation ends without a stop string.
  std::string finish();
  bool stopped() const { return stopped_; }

 private:
  // How many trailing bytes of held_ could begin a stop string.
  std::size_t ambiguous_tail() const;

  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace sieve::serve
