#include "apps/dashboard/server/advice_routes.h"

#include <fmt/format.h>

#include "apps/dashboard/advisor/advisor.h"
#include "apps/dashboard/advisor/run_inputs.h"
#include "apps/dashboard/server/api_reply.h"
#include "sieve/serve_http/http_reply.h"

namespace sieve::dashboard {
namespace {

// Steps of each side of a Try-it run when the request does not say.
constexpr std::int64_t kDefaultTrySteps = 200;
constexpr std::int64_t kMaxTrySteps = 100000;

struct Advice {
  MachineProfile machine;
  std::vector<Suggestion> suggestions;
};

Advice advice_for(RunCatalog& catalog, const std::string& run_name) {
  const RunInputs run = read_run_inputs(catalog.snapshot(run_name).dir);
  Advice advice;
  advice.machine = measure_machine_for_run(run.config, run.series.start);
  advice.suggestions = advise(run.series, run.config, run.command, advice.machine);
  return advice;
}

std::int64_t try_steps(const nlohmann::json& body) {
  if (!body.contains("steps") || body["steps"].is_null()) return kDefaultTrySteps;
  if (!body["steps"].is_number_integer() || body["steps"].get<std::int64_t>() < 1 ||
      body["steps"].get<std::int64_t>() > kMaxTrySteps)
    throw serve_http::BadRequest(fmt::format("'steps' must be an integer from 1 to {}", kMaxTrySteps), "steps");
  return body["steps"].get<std::int64_t>();
}

}  // namespace

void add_advice_routes(serve_http::RouteTable& routes, RunCatalog& catalog, TryItManager& tries,
                       const serve::AdminToken& token) {
  routes.add("GET", "/api/runs/{name}/advice",
             finding_runs([&catalog](const serve_http::HttpCall& call, httplib::Response& response) {
               const Advice advice = advice_for(catalog, call.path_params[0]);
               nlohmann::json suggestions = nlohmann::json::array();
               for (const Suggestion& suggestion : advice.suggestions) suggestions.push_back(to_json(suggestion));
               serve_http::reply_json(response, 200, {{"suggestions", suggestions}, {"machine", to_json(advice.machine)}});
             }));
  routes.add("GET", "/api/machine", [](const serve_http::HttpCall&, httplib::Response& response) {
    serve_http::reply_json(response, 200, to_json(measure_machine()));
  });
  routes.add("POST", "/api/runs/{name}/try",
             requiring_token(token, finding_runs([&catalog, &tries](const serve_http::HttpCall& call,
                                                                   httplib::Response& response) {
               const nlohmann::json body = json_body(call);
               if (!body.contains("rule") || !body["rule"].is_string())
                 throw serve_http::BadRequest("'rule' must name one of the run's suggestions", "rule");
               const std::string& rule = body["rule"].get_ref<const std::string&>();
               const std::int64_t steps = try_steps(body);
               const Advice advice = advice_for(catalog, call.path_params[0]);
               const auto it = std::find_if(advice.suggestions.begin(), advice.suggestions.end(),
                                            [&](const Suggestion& s) { return s.rule == rule; });
               if (it == advice.suggestions.end())
                 throw serve_http::BadRequest(fmt::format("the advisor makes no '{}' suggestion for this run", rule), "rule");
               if (it->change.empty())
                 throw serve_http::BadRequest(
                     fmt::format("the '{}' suggestion changes no flag, so there is nothing to try", rule), "rule");
               const std::string id =
                   tries.try_suggestion(call.path_params[0], rule, nlohmann::json(it->change), it->measure, steps);
               serve_http::reply_json(response, 202, {{"trial", id}});
             })));
}

}  // namespace sieve::dashboard
