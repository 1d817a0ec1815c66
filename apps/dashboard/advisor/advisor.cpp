#include "apps/dashboard/advisor/advisor.h"

#include "apps/dashboard/advisor/rules.h"

namespace sieve::dashboard {

std::vector<Suggestion> advise(const RunSeries& series, const nlohmann::json& config, const nlohmann::json& command,
                               const MachineProfile& machine) {
  const RunInput run{series, config, command, machine};
  std::vector<Suggestion> suggestions;
  for (const auto rule : {divergence_rule, fp16_overflow_rule, memory_rule, throughput_rule, overfitting_rule,
                          plateau_rule, low_coverage_rule})
    if (std::optional<Suggestion> suggestion = rule(run)) suggestions.push_back(std::move(*suggestion));
  return suggestions;
}

}  // namespace sieve::dashboard
