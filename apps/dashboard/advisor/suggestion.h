// One piece of advice about a run (docs/dashboard.md, "Advisor"): what the rule saw, what to
// change, and which metric an A/B run ("try it") compares to tell whether the change helped.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace sieve::dashboard {

struct Suggestion {
  std::string rule;             // stable id: "divergence", "fp16-overflows", "throughput", ...
  std::string title;            // one line
  std::string evidence;         // the numbers from the run that triggered it
  std::string expected_effect;  // what the change should do, in the measured metric's terms
  std::string severity = "info";  // "warning" (the run is losing work) or "info" (it could do better)
  // Command-line flags to set for the next run: "--flag" → value ("" for a switch). Empty when
  // no flag applies (the advice is in the title and evidence).
  std::map<std::string, std::string> change;
  std::string measure;  // the metric an A/B run compares: val_loss, tokens_per_s, skipped_total, peak_rss_mb
};

// {"rule","title","evidence","expected_effect","severity","change":{...},"measure"}
nlohmann::json to_json(const Suggestion& suggestion);

}  // namespace sieve::dashboard
