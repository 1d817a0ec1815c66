#include "apps/dashboard/server/advice_routes.h"

#include "apps/dashboard/advisor/advisor.h"
#include "apps/dashboard/advisor/run_inputs.h"
#include "apps/dashboard/server/api_reply.h"
#include "sieve/serve_http/http_reply.h"

namespace sieve::dashboard {

void add_advice_routes(serve_http::RouteTable& routes, RunCatalog& catalog) {
  routes.add("GET", "/api/runs/{name}/advice",
             finding_runs([&catalog](const serve_http::HttpCall& call, httplib::Response& response) {
               const RunInputs run = read_run_inputs(catalog.snapshot(call.path_params[0]).dir);
               const MachineProfile machine = measure_machine_for_run(run.config, run.series.start);
               nlohmann::json suggestions = nlohmann::json::array();
               for (const Suggestion& suggestion : advise(run.series, run.config, run.command, machine))
                 suggestions.push_back(to_json(suggestion));
               serve_http::reply_json(response, 200, {{"suggestions", suggestions}, {"machine", to_json(machine)}});
             }));
  routes.add("GET", "/api/machine", [](const serve_http::HttpCall&, httplib::Response& response) {
    serve_http::reply_json(response, 200, to_json(measure_machine()));
  });
}

}  // namespace sieve::dashboard
