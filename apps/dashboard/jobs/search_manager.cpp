#include "apps/dashboard/jobs/search_manager.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "apps/dashboard/jobs/run_summary.h"
#include "apps/dashboard/runs/run_json.h"
#include "apps/dashboard/runs/run_path.h"
#include "sieve/core/atomic_file.h"
#include "sieve/core/error.h"

namespace sieve::dashboard {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr auto kPollInterval = 250ms;

bool is_active(const std::string& state) { return state == "queued" || state == "running" || state == "stopping"; }

}  // namespace

SearchManager::SearchManager(JobManager& jobs) : jobs_(jobs) {
  load_earlier_searches();
  monitor_ = std::thread([this] { monitor(); });
}

SearchManager::~SearchManager() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    for (auto& [id, search] : searches_)
      if (search.state == "running") stop_trials(search);
  }
  wake_.notify_all();
  monitor_.join();
}

std::string SearchManager::start_search(const json& spec) {
  SearchPlan plan = plan_search(spec, jobs_.root(), jobs_.cores());
  SIEVE_USER_CHECK(fs::create_directory(jobs_.root() / plan.name), "run '{}' already exists", plan.name);
  std::lock_guard lock(mutex_);
  Search& search = searches_[plan.name];
  search.created_unix_time = unix_time_now();
  for (SearchTrialPlan& trial_plan : plan.trials) {
    Trial trial;
    trial.plan = std::move(trial_plan);
    trial.metrics = std::make_unique<MetricsFile>(jobs_.root() / trial.plan.run / "metrics.jsonl");
    search.trials.push_back(std::move(trial));
  }
  plan.trials.clear();
  search.plan = std::move(plan);
  advance(search);
  wake_.notify_all();
  return search.plan.name;
}

void SearchManager::load_earlier_searches() {
  std::error_code error;
  for (auto it = fs::directory_iterator(jobs_.root(), error); !error && it != fs::directory_iterator();
       it.increment(error)) {
    json search = read_run_json(it->path() / "search.json");
    if (!search.is_object() || !search.contains("id") || !search["id"].is_string() || !search.contains("trials") ||
        !search["trials"].is_array())
      continue;
    if (search["state"] == "running") {
      search["state"] = "stopped";
      for (json& trial : search["trials"])
        if (trial.is_object() && trial["state"].is_string() &&
            (is_active(trial["state"].get<std::string>()) || trial["state"] == "pending" ||
             trial["state"] == "waiting"))
          trial["state"] = "stopped";
    }
    const std::string id = search["id"];
    earlier_[id] = std::move(search);
  }
}

void SearchManager::stop_search(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (earlier_.contains(id)) throw JobConflict(fmt::format("search '{}' is {}", id, earlier_.at(id)["state"].dump()));
  const auto it = searches_.find(id);
  if (it == searches_.end()) throw RunNotFound(fmt::format("no search '{}'", id));
  if (it->second.state != "running") throw JobConflict(fmt::format("search '{}' is {}", id, it->second.state));
  stop_trials(it->second);
}

json SearchManager::searches() const {
  std::lock_guard lock(mutex_);
  std::vector<json> list;
  for (const auto& [id, search] : searches_) list.push_back(search_json(search));
  for (const auto& [id, search] : earlier_) list.push_back(search);
  std::sort(list.begin(), list.end(), [](const json& a, const json& b) {
    return number_or(a, "created_unix_time", 0) > number_or(b, "created_unix_time", 0);
  });
  return {{"searches", list}};
}

json SearchManager::search(const std::string& id) const {
  std::lock_guard lock(mutex_);
  if (const auto earlier = earlier_.find(id); earlier != earlier_.end()) return earlier->second;
  const auto it = searches_.find(id);
  if (it == searches_.end()) throw RunNotFound(fmt::format("no search '{}'", id));
  return search_json(it->second);
}

void SearchManager::monitor() {
  std::unique_lock lock(mutex_);
  while (!closing_) {
    for (auto& [id, search] : searches_) {
      try {
        advance(search);
      } catch (const std::exception& e) {
        // Its directory was removed or cannot be written: the search cannot go on.
        std::fprintf(stderr, "dashboard: search %s: %s\n", id.c_str(), e.what());
        stop_trials(search);
      }
    }
    wake_.wait_for(lock, kPollInterval);
  }
}

int SearchManager::last_rung(const Search& search) const { return static_cast<int>(search.plan.rungs.size()) - 1; }

// With the lock held: observe the trials, close finished rungs, start what may start.
void SearchManager::advance(Search& search) {
  if (search.state != "running") return;
  for (Trial& trial : search.trials)
    if (is_active(trial.state)) observe(search, trial);
  int rung = -1;
  while (search.state == "running" && rung != search.rung) {
    rung = search.rung;
    complete_rung(search);
  }
  if (search.state == "running") launch_pending(search);
  save(search);
}

void SearchManager::observe(Search& search, Trial& trial) {
  const std::optional<JobStatus> status = jobs_.status(trial.plan.run);
  trial.metrics->refresh();
  const RunSeries series = series_of(trial.metrics->records());
  trial.step = summarize_run(series).step;
  while (trial.reported_rung < last_rung(search)) {
    const auto loss = val_loss_at(series, search.plan.rungs[trial.reported_rung + 1]);
    if (!loss) break;
    ++trial.reported_rung;
    trial.reported_loss = loss;
  }
  const bool reported = trial.reported_rung >= trial.rung;
  if (status && status->active()) {
    trial.state = status->state;
    if (reported && trial.rung < last_rung(search) && !trial.stop_sent) {
      trial.stop_sent = true;
      try {
        jobs_.stop(trial.plan.run);
      } catch (const std::exception&) {
        // It ended meanwhile (the next look settles it), or its directory is gone (it fails).
      }
    }
    return;
  }
  if (reported) {
    trial.state = trial.rung == last_rung(search) ? "finished" : "waiting";
  } else {
    trial.state = status && status->state == "stopped" ? "stopped" : "failed";
  }
}

// With the lock held. A rung is complete when none of its trials is pending or training; the
// best 1/eta of those that reported it go on, the others are pruned.
void SearchManager::complete_rung(Search& search) {
  const int rung = search.rung;
  std::vector<Trial*> reported;
  for (Trial& trial : search.trials) {
    if (trial.rung != rung || trial.state == "pruned") continue;
    if (trial.state == "pending" || is_active(trial.state)) return;
    if (trial.state == "waiting" || trial.state == "finished") reported.push_back(&trial);
  }
  if (rung == last_rung(search) || reported.empty()) {
    search.state = "done";
    return;
  }
  // Every reported trial has the loss at this rung; a later rung's is not comparable.
  const std::int64_t rung_step = search.plan.rungs[rung];
  const auto loss_at_rung = [&](Trial* trial) {
    trial->metrics->refresh();
    return val_loss_at(series_of(trial->metrics->records()), rung_step).value_or(1e300);
  };
  std::vector<std::pair<double, Trial*>> ranked;
  for (Trial* trial : reported) ranked.emplace_back(loss_at_rung(trial), trial);
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  const std::size_t keep = std::max<std::size_t>(1, ranked.size() / static_cast<std::size_t>(search.plan.eta));
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    Trial& trial = *ranked[i].second;
    if (i >= keep) {
      trial.state = "pruned";
      continue;
    }
    trial.rung = rung + 1;
    // A trial that ran past the next rung before its stop landed has reported it already.
    if (trial.reported_rung >= trial.rung) {
      trial.state = trial.rung == last_rung(search) ? "finished" : "waiting";
    } else {
      trial.state = "pending";
    }
  }
  search.rung = rung + 1;
}

void SearchManager::launch_pending(Search& search) {
  int active = static_cast<int>(
      std::count_if(search.trials.begin(), search.trials.end(), [](const Trial& t) { return is_active(t.state); }));
  for (Trial& trial : search.trials) {
    if (active >= search.plan.parallel) return;
    if (trial.state != "pending") continue;
    try {
      if (trial.started) {
        jobs_.resume(trial.plan.run);
      } else {
        // The search's share of the cores, split among its parallel trials.
        jobs_.start(trial.plan.run, trial.plan.command, std::max(1, jobs_.solo_threads() / search.plan.parallel));
        trial.started = true;
      }
      trial.state = "queued";
      trial.stop_sent = false;
      ++active;
    } catch (const std::exception& e) {
      std::ofstream(jobs_.root() / search.plan.name / "search.log", std::ios::app)
          << trial.plan.run << ": " << e.what() << "\n";
      trial.state = "failed";
    }
  }
}

void SearchManager::stop_trials(Search& search) {
  search.state = "stopped";
  for (Trial& trial : search.trials) {
    if (is_active(trial.state)) {
      try {
        jobs_.stop(trial.plan.run);
      } catch (const std::exception&) {
        // Ended meanwhile, or its directory is gone.
      }
    }
    if (is_active(trial.state) || trial.state == "pending" || trial.state == "waiting") trial.state = "stopped";
  }
  save(search);
}

json SearchManager::search_json(const Search& search) const {
  std::vector<const Trial*> ranked;
  for (const Trial& trial : search.trials) ranked.push_back(&trial);
  std::stable_sort(ranked.begin(), ranked.end(), [](const Trial* a, const Trial* b) {
    if (a->reported_rung != b->reported_rung) return a->reported_rung > b->reported_rung;
    return a->reported_loss.value_or(1e300) < b->reported_loss.value_or(1e300);
  });
  json trials = json::array();
  for (const Trial* trial : ranked)
    trials.push_back({{"run", trial->plan.run},
                      {"params", trial->plan.params},
                      {"state", trial->state},
                      {"rung", trial->reported_rung},
                      {"val_loss", trial->reported_loss ? json(*trial->reported_loss) : json(nullptr)},
                      {"step", trial->step}});
  return {{"id", search.plan.name}, {"name", search.plan.name},
          {"state", search.state},  {"rungs", search.plan.rungs},
          {"eta", search.plan.eta}, {"parallel", search.plan.parallel},
          {"rung", search.rung},    {"created_unix_time", search.created_unix_time},
          {"trials", trials}};
}

void SearchManager::save(Search& search) const {
  std::string text = search_json(search).dump(2) + "\n";
  if (text == search.saved) return;
  search.saved = text;
  try {
    core::write_file_atomically(jobs_.root() / search.plan.name / "search.json", text);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dashboard: %s\n", e.what());  // listed while the dashboard runs, not after
  }
}

}  // namespace sieve::dashboard
