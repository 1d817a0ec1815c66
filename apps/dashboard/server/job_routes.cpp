#include "apps/dashboard/server/job_routes.h"

#include "apps/dashboard/server/api_reply.h"
#include "sieve/serve_http/http_reply.h"

namespace sieve::dashboard {

void add_job_routes(serve_http::RouteTable& routes, JobServices& jobs, const serve::AdminToken& token) {
  const auto writing = [&token](serve_http::RouteHandler handler) {
    return requiring_token(token, finding_runs(std::move(handler)));
  };
  routes.add("POST", "/api/launch", writing([&jobs](const serve_http::HttpCall& call, httplib::Response& response) {
               serve_http::reply_json(response, 201, {{"run", jobs.jobs.launch(json_body(call))}});
             }));
  routes.add("POST", "/api/runs/{name}/stop",
             writing([&jobs](const serve_http::HttpCall& call, httplib::Response& response) {
               jobs.jobs.stop(call.path_params[0]);
               serve_http::reply_json(response, 202, {{"run", call.path_params[0]}, {"status", "stopping"}});
             }));
  routes.add("POST", "/api/runs/{name}/resume",
             writing([&jobs](const serve_http::HttpCall& call, httplib::Response& response) {
               jobs.jobs.resume(call.path_params[0]);
               const std::optional<JobStatus> status = jobs.jobs.status(call.path_params[0]);
               serve_http::reply_json(response, 202,
                                      {{"run", call.path_params[0]}, {"status", status ? status->state : "queued"}});
             }));
  routes.add("GET", "/api/jobs", [&jobs](const serve_http::HttpCall&, httplib::Response& response) {
    serve_http::reply_json(response, 200, jobs.jobs.jobs());
  });
  routes.add("POST", "/api/searches", writing([&jobs](const serve_http::HttpCall& call, httplib::Response& response) {
               serve_http::reply_json(response, 201, {{"search", jobs.searches.start_search(json_body(call))}});
             }));
  routes.add("GET", "/api/searches", [&jobs](const serve_http::HttpCall&, httplib::Response& response) {
    serve_http::reply_json(response, 200, jobs.searches.searches());
  });
  routes.add("GET", "/api/searches/{id}",
             finding_runs([&jobs](const serve_http::HttpCall& call, httplib::Response& response) {
               serve_http::reply_json(response, 200, jobs.searches.search(call.path_params[0]));
             }));
  routes.add("POST", "/api/searches/{id}/stop",
             writing([&jobs](const serve_http::HttpCall& call, httplib::Response& response) {
               jobs.searches.stop_search(call.path_params[0]);
               serve_http::reply_json(response, 202, {{"search", call.path_params[0]}, {"state", "stopped"}});
             }));
  routes.add("GET", "/api/trials", [&jobs](const serve_http::HttpCall&, httplib::Response& response) {
    serve_http::reply_json(response, 200, jobs.tries.trials());
  });
  routes.add("GET", "/api/trials/{id}", finding_runs([&jobs](const serve_http::HttpCall& call, httplib::Response& response) {
               serve_http::reply_json(response, 200, jobs.tries.trial(call.path_params[0]));
             }));
}

}  // namespace sieve::dashboard
