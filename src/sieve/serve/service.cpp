#include "sieve/serve/service.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <shared_mutex>

#include "sieve/core/error.h"
#include "sieve/core/rng.h"
#include "sieve/serve/model_version.h"
#include "sieve/serve/request_check.h"
#include "sieve/serve/route.h"
#include "sieve/serve/scheduler.h"

namespace sieve::serve {

struct Service::Impl {
  explicit Impl(ServiceOptions o)
      : options(o), rng(std::random_device{}()), scheduler({o.max_batch, o.max_batch_tokens, o.max_queue, o.threads}, metrics) {}

  ServiceOptions options;
  ServiceMetrics metrics;
  mutable std::shared_mutex mutex;  // models, routes, draining
  std::map<std::string, std::shared_ptr<const ModelVersion>> models;
  std::map<std::string, Route> routes;
  bool started = false, draining = false;
  std::mutex reload_mutex;  // one hot update at a time
  std::mutex rng_mutex;
  core::Rng rng;  // random variants and seeds
  std::atomic<std::uint64_t> next_id{0};
  Scheduler scheduler;  // last: stopped before what it uses is destroyed

  std::uint64_t random_u64() {
    std::lock_guard lock(rng_mutex);
    return rng.next_u64();
  }
  std::string completion_id() {
    return fmt::format("cmpl-{:08x}{:08x}", static_cast<std::uint32_t>(random_u64()), next_id.fetch_add(1));
  }
  std::string names() const;  // under mutex
  Submission refuse(const std::string& route, Status status) {
    metrics.record_refusal(route, status.code);
    return {std::move(status), nullptr};
  }
  Status enqueue(const CompletionRequest& request, const std::string& route,
                 const std::shared_ptr<const ModelVersion>& version, bool shadow,
                 std::shared_ptr<Completion>& completion);
};

std::string Service::Impl::names() const {
  std::string text;
  for (const auto& [name, version] : models) text += (text.empty() ? "" : ", ") + name;
  for (const auto& [name, route] : routes) text += (text.empty() ? "" : ", ") + name;
  return text;
}

Service::Service(ServiceOptions options) {
  SIEVE_USER_CHECK(options.max_batch >= 1, "--max-batch must be >= 1, got {}", options.max_batch);
  SIEVE_USER_CHECK(options.max_batch_tokens >= options.max_batch,
                   "--max-batch-tokens ({}) must be at least --max-batch ({})", options.max_batch_tokens,
                   options.max_batch);
  SIEVE_USER_CHECK(options.max_queue >= 0, "--max-queue must be >= 0, got {}", options.max_queue);
  SIEVE_USER_CHECK(options.max_tokens >= 1, "--max-tokens-limit must be >= 1, got {}", options.max_tokens);
  SIEVE_USER_CHECK(options.default_max_tokens >= 1 && options.default_max_tokens <= options.max_tokens,
                   "the default max_tokens must be in [1, {}], got {}", options.max_tokens,
                   options.default_max_tokens);
  SIEVE_USER_CHECK(options.max_prompt_tokens >= 0, "--max-prompt-tokens must be >= 0, got {}",
                   options.max_prompt_tokens);
  impl_ = std::make_unique<Impl>(options);
}

Service::~Service() { drain(std::chrono::milliseconds(0)); }

void Service::add_model(const std::string& name, const std::filesystem::path& directory) {
  SIEVE_USER_CHECK(valid_name(name), "bad model name '{}': use letters, digits, '.', '_' and '-'", name);
  {
    std::shared_lock lock(impl_->mutex);
    SIEVE_USER_CHECK(!impl_->models.contains(name) && !impl_->routes.contains(name), "the name '{}' is taken",
                     name);
  }
  auto version = load_model_version(name, directory, 1);
  impl_->scheduler.run_between_steps([&] { check_runs(*version); });
  std::unique_lock lock(impl_->mutex);
  impl_->models[name] = std::move(version);
  impl_->started = true;
}

Status Service::reload_model(const std::string& name, const std::filesystem::path& directory, ModelInfo* loaded) {
  std::lock_guard reloading(impl_->reload_mutex);
  std::shared_ptr<const ModelVersion> serving;
  {
    std::shared_lock lock(impl_->mutex);
    const auto found = impl_->models.find(name);
    if (found == impl_->models.end())
      return Status::error(Code::not_found, fmt::format("no model named '{}' (models: {})", name, impl_->names()));
    serving = found->second;
  }
  const std::filesystem::path source = directory.empty() ? serving->info.directory : directory;
  std::shared_ptr<const ModelVersion> fresh;
  try {
    fresh = load_model_version(name, source, serving->info.version + 1);
    impl_->scheduler.run_between_steps([&] { check_runs(*fresh); });
  } catch (const core::Error& error) {
    return Status::error(Code::failed_precondition,
                         fmt::format("model '{}' from '{}' was not loaded (version {} serves on): {}", name,
                                     source.string(), serving->info.version, error.what()));
  }
  if (loaded != nullptr) *loaded = fresh->info;
  std::unique_lock lock(impl_->mutex);
  impl_->models[name] = std::move(fresh);  // the old version lives on in its running sequences
  return {};
}

Status Service::reload_all() {
  std::vector<std::string> names;
  for (const ModelInfo& info : models()) names.push_back(info.name);
  Status first;
  for (const std::string& name : names) {
    Status status = reload_model(name, {});
    if (!status.ok() && first.ok()) first = std::move(status);
  }
  return first;
}

Status Service::set_route(const std::string& name, const std::string& spec) {
  if (!valid_name(name))
    return Status::error(Code::invalid_argument,
                         fmt::format("bad route name '{}': use letters, digits, '.', '_' and '-'", name));
  Route route;
  try {
    route = Route::parse(name, spec);
  } catch (const core::UserError& error) {
    return Status::error(Code::invalid_argument, error.what());
  }
  std::unique_lock lock(impl_->mutex);
  if (impl_->models.contains(name))
    return Status::error(Code::invalid_argument, fmt::format("'{}' is a model; a route needs a name of its own", name));
  std::vector<std::string> used;
  for (const RouteVariant& variant : route.variants) used.push_back(variant.model);
  if (!route.shadow.empty()) used.push_back(route.shadow);
  for (const std::string& model : used)
    if (!impl_->models.contains(model))
      return Status::error(Code::not_found, fmt::format("route '{}': no model named '{}'", name, model));
  impl_->routes[name] = std::move(route);
  return {};
}

std::vector<ModelInfo> Service::models() const {
  std::shared_lock lock(impl_->mutex);
  std::vector<ModelInfo> infos;
  for (const auto& [name, version] : impl_->models) infos.push_back(version->info);
  return infos;
}

std::vector<RouteInfo> Service::routes() const {
  std::shared_lock lock(impl_->mutex);
  std::vector<RouteInfo> infos;
  for (const auto& [name, route] : impl_->routes) infos.push_back({name, route.spec()});
  return infos;
}

bool Service::ready() const {
  std::shared_lock lock(impl_->mutex);
  return impl_->started && !impl_->draining;
}

bool Service::serving(const std::string& name) const {
  std::shared_lock lock(impl_->mutex);
  return !impl_->draining && (impl_->models.contains(name) || impl_->routes.contains(name));
}

Status Service::Impl::enqueue(const CompletionRequest& request, const std::string& route,
                              const std::shared_ptr<const ModelVersion>& version, bool shadow,
                              std::shared_ptr<Completion>& completion) {
  SequenceRequest sequence;
  sequence.version = version;
  sequence.route = route;
  sequence.shadow = shadow;
  Status status = prepare_sequence(request, options, sequence);
  if (!status.ok()) return status;
  sequence.sampling.seed = request.seed ? *request.seed : random_u64();
  completion = std::make_shared<Completion>(completion_id(), version->info.name, version->info.version,
                                            static_cast<std::int64_t>(sequence.prompt.size()));
  sequence.completion = completion;
  return scheduler.enqueue(std::move(sequence));
}

Submission Service::submit(CompletionRequest request) {
  std::shared_ptr<const ModelVersion> version, shadow;
  std::string route_name = request.model;
  {
    std::shared_lock lock(impl_->mutex);
    if (!impl_->started || impl_->draining)
      return impl_->refuse(route_name, Status::error(Code::unavailable, impl_->draining
                                                                             ? "the server is shutting down"
                                                                             : "the server is still loading models"));
    if (const auto route = impl_->routes.find(request.model); route != impl_->routes.end()) {
      std::lock_guard rng_lock(impl_->rng_mutex);
      version = impl_->models.at(route->second.pick(request.client_key, impl_->rng).model);
      if (!route->second.shadow.empty()) shadow = impl_->models.at(route->second.shadow);
    } else if (const auto model = impl_->models.find(request.model); model != impl_->models.end()) {
      version = model->second;
    } else {
      return impl_->refuse("", Status::error(Code::not_found, fmt::format("no model or route named '{}' (serving: {})",
                                                                          request.model, impl_->names())));
    }
  }
  std::shared_ptr<Completion> completion;
  Status status = impl_->enqueue(request, route_name, version, false, completion);
  if (!status.ok()) return impl_->refuse(route_name, std::move(status));
  if (shadow) {  // a copy whose answer nobody reads; refused quietly when the server is full
    std::shared_ptr<Completion> discarded;
    if (Status shadow_status = impl_->enqueue(request, route_name, shadow, true, discarded); !shadow_status.ok())
      impl_->metrics.record_refusal(route_name, shadow_status.code);
  }
  return {{}, std::move(completion)};
}

std::optional<nlohmann::json> Service::experiment(const std::string& name) const {
  std::shared_lock lock(impl_->mutex);
  const auto found = impl_->routes.find(name);
  if (found == impl_->routes.end()) return std::nullopt;
  std::vector<std::string> models;
  for (const RouteVariant& variant : found->second.variants) models.push_back(variant.model);
  nlohmann::json summary = impl_->metrics.experiment(name, models, found->second.shadow);
  summary["spec"] = found->second.spec();
  for (std::size_t i = 0; i < models.size(); ++i)
    summary["variants"][i]["weight"] = found->second.variants[i].weight;
  return summary;
}

std::string Service::metrics_text() const {
  std::map<std::string, std::int64_t> versions;
  for (const ModelInfo& info : models()) versions[info.name] = info.version;
  return impl_->metrics.prometheus(impl_->scheduler.gauges(), versions);
}

void Service::drain(std::chrono::milliseconds timeout) {
  {
    std::unique_lock lock(impl_->mutex);
    impl_->draining = true;
  }
  const Clock::time_point until = Clock::now() + timeout;
  while (impl_->scheduler.in_flight() > 0 && Clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  impl_->scheduler.cancel_all(Status::error(Code::unavailable, "the server shut down before the request finished"));
}

}  // namespace sieve::serve
