#include "apps/dashboard/advisor/suggestion.h"

namespace sieve::dashboard {

nlohmann::json to_json(const Suggestion& suggestion) {
  nlohmann::json change = nlohmann::json::object();
  for (const auto& [flag, value] : suggestion.change) change[flag] = value;
  return {{"rule", suggestion.rule},
          {"title", suggestion.title},
          {"evidence", suggestion.evidence},
          {"expected_effect", suggestion.expected_effect},
          {"severity", suggestion.severity},
          {"change", std::move(change)},
          {"measure", suggestion.measure}};
}

}  // namespace sieve::dashboard
