#include "apps/dashboard/server/run_routes.h"

#include <fmt/format.h>

#include <charconv>

#include "apps/dashboard/runs/result_tables.h"
#include "apps/dashboard/runs/run_views.h"
#include "apps/dashboard/server/api_reply.h"
#include "sieve/serve_http/http_reply.h"
#include "sieve/train/metrics_log.h"

namespace sieve::dashboard {
namespace {

// Records per metrics reply; the page asks again from "next" until it has them all.
constexpr std::size_t kMaxRecordsPerReply = 5000;
constexpr std::size_t kMaxComparedRuns = 16;

std::size_t after_parameter(const httplib::Request& request) {
  if (!request.has_param("after")) return 0;
  const std::string text = request.get_param_value("after");
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size())
    throw serve_http::BadRequest(fmt::format("'after' must be a record index, not '{}'", text), "after");
  return value;
}

std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    if (comma > start) names.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return names;
}

// The job manager's state of a run it started replaces the files' guess; "managed" tells the
// page whether Stop applies (the dashboard stops only processes it started).
void apply_overlay(nlohmann::json& view, const StatusOverlay& overlay) {
  std::string status = overlay ? overlay(view["name"]) : "";
  view["managed"] = !status.empty();
  if (!status.empty()) view["status"] = std::move(status);
}

}  // namespace

void add_run_routes(serve_http::RouteTable& routes, RunCatalog& catalog, StatusOverlay overlay,
                    std::filesystem::path results_file) {
  routes.add("GET", "/api/runs", [&catalog, overlay](const serve_http::HttpCall&, httplib::Response& response) {
    nlohmann::json runs = nlohmann::json::array();
    const double now = train::unix_time_seconds();
    for (const std::string& name : catalog.names()) {
      try {
        runs.push_back(run_summary(name, catalog.snapshot(name), now));
        apply_overlay(runs.back(), overlay);
      } catch (const std::exception&) {
        // A run that went away between the listing and the reading is simply not listed.
      }
    }
    serve_http::reply_json(response, 200, {{"runs", runs}});
  });
  routes.add("GET", "/api/runs/{name}",
             finding_runs([&catalog, overlay](const serve_http::HttpCall& call, httplib::Response& response) {
               nlohmann::json detail =
                   run_detail(call.path_params[0], catalog.snapshot(call.path_params[0]), train::unix_time_seconds());
               apply_overlay(detail, overlay);
               serve_http::reply_json(response, 200, detail);
             }));
  routes.add("GET", "/api/runs/{name}/metrics",
             finding_runs([&catalog](const serve_http::HttpCall& call, httplib::Response& response) {
               const std::size_t after = after_parameter(call.request);
               bool reset = false;
               RunSnapshot run = catalog.snapshot_after(call.path_params[0], after, reset);
               const std::size_t first = reset ? 0 : after;
               const std::size_t count = std::min(run.records.size(), kMaxRecordsPerReply);
               run.records.resize(count);
               serve_http::reply_json(response, 200,
                                      {{"records", std::move(run.records)}, {"next", first + count}, {"reset", reset}});
             }));
  routes.add("GET", "/api/compare", finding_runs([&catalog](const serve_http::HttpCall& call, httplib::Response& response) {
               const std::vector<std::string> names = split_names(call.request.get_param_value("runs"));
               if (names.empty() || names.size() > kMaxComparedRuns)
                 throw serve_http::BadRequest(
                     fmt::format("'runs' must list 1 to {} run names, comma-separated", kMaxComparedRuns), "runs");
               std::vector<RunSnapshot> runs;
               for (const std::string& name : names) runs.push_back(catalog.snapshot(name));
               serve_http::reply_json(response, 200, compare_runs(names, runs));
             }));
  routes.add("GET", "/api/tables", [results_file](const serve_http::HttpCall&, httplib::Response& response) {
    serve_http::reply_json(response, 200, result_tables(results_file));
  });
}

}  // namespace sieve::dashboard
