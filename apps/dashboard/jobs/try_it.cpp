#include "apps/dashboard/jobs/try_it.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "apps/dashboard/jobs/command_args.h"
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

constexpr std::int64_t kDefaultSteps = 200;
constexpr std::int64_t kMaxSteps = 100'000;
constexpr std::size_t kMaxChanges = 16;
// Deepest try.json the start-up scan looks at (<run>.try-R-N is at most 3 directories deep).
constexpr int kMaxScanDepth = 3;

// Noise bands: a difference inside its band is "no clear difference".
//  - val_loss: 0.02 (nats). Baseline and variant start from the same initialisation and read the
//    same data in the same order, so the change is what differs; but on runs this short an
//    equivalent setting (another thread count's summation order, a reshuffled batch) moves the
//    final loss by about that much, and a smaller gain is not worth acting on.
//  - tokens_per_s, peak_rss_mb: 5% of the baseline, the spread of repeated runs' throughput on a
//    shared machine and of the allocator's peak. Other jobs training at the same time add noise
//    this band does not cover.
//  - skipped_total: any whole step (a skipped step is an event, not a noisy measurement).
constexpr double kLossBand = 0.02;
constexpr double kRelativeBand = 0.05;

const std::set<std::string> kMeasures{"val_loss", "tokens_per_s", "skipped_total", "peak_rss_mb"};

std::optional<double> measured(const RunSummary& summary, const std::string& measure) {
  if (measure == "val_loss") return summary.val_loss;
  if (measure == "tokens_per_s") return summary.tokens_per_s;
  if (measure == "skipped_total") return summary.skipped_total;
  return summary.peak_rss_mb;
}

// The change's flags and values; throws core::UserError for anything but {"--flag": "value"}.
std::vector<std::pair<std::string, std::string>> parse_change(const json& change) {
  SIEVE_USER_CHECK(change.is_object() && !change.empty() && change.size() <= kMaxChanges,
                   "the change must map 1 to {} flags to values", kMaxChanges);
  static const std::regex kFlag("--[a-z0-9][a-z0-9-]*");
  std::vector<std::pair<std::string, std::string>> flags;
  for (const auto& [flag, value] : change.items()) {
    SIEVE_USER_CHECK(std::regex_match(flag, kFlag), "'{}' is not a flag", flag);
    SIEVE_USER_CHECK(flag != "--out" && flag != "--resume" && flag != "--steps" && flag != "--epochs",
                     "the change cannot set {}: the trial chooses it", flag);
    SIEVE_USER_CHECK(value.is_string() || value.is_number(), "the value of {} must be a string or a number", flag);
    std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    SIEVE_USER_CHECK(!text.starts_with("--"), "the value of {} must not be a flag", flag);
    flags.emplace_back(flag, std::move(text));
  }
  return flags;
}

}  // namespace

std::string try_verdict(const std::string& measure, double baseline, double variant) {
  const double difference = variant - baseline;
  bool clear = false;
  if (measure == "val_loss") {
    clear = std::abs(difference) > kLossBand;
  } else if (measure == "skipped_total") {
    clear = std::abs(difference) >= 1.0;
  } else {
    clear = std::abs(difference) > kRelativeBand * std::abs(baseline);
  }
  if (!clear) return "no clear difference";
  const bool higher_is_better = measure == "tokens_per_s";
  return (difference > 0) == higher_is_better ? "better" : "worse";
}

TryItManager::TryItManager(JobManager& jobs) : jobs_(jobs) {
  load_earlier_trials();
  worker_ = std::thread([this] { work(); });
}

TryItManager::~TryItManager() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

void TryItManager::load_earlier_trials() {
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(jobs_.root(), fs::directory_options::skip_permission_denied, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_directory() && it.depth() >= kMaxScanDepth) it.disable_recursion_pending();
    if (it->path().filename() != "try.json") continue;
    json trial = read_run_json(it->path());
    if (!trial.is_object() || !trial.contains("id") || !trial["id"].is_string()) continue;
    if (trial["state"] == "queued" || trial["state"] == "running") {
      trial["state"] = "failed";
      trial["error"] = "the dashboard stopped before the trial finished";
    }
    Trial& kept = trials_[trial["id"].get<std::string>()];
    kept.dir = it->path().parent_path();
    kept.json = std::move(trial);
  }
}

std::string TryItManager::try_suggestion(const std::string& run, const std::string& rule, const json& change,
                                         const std::string& measure, std::int64_t steps) {
  const fs::path& root = jobs_.root();
  const fs::path run_dir = run_directory(root, run);
  SIEVE_USER_CHECK(is_run_name_part(rule), "'{}' is not a suggestion rule", rule);
  SIEVE_USER_CHECK(kMeasures.contains(measure),
                   "'{}' is not a measure: val_loss, tokens_per_s, skipped_total or peak_rss_mb", measure);
  if (steps == 0) steps = kDefaultSteps;
  SIEVE_USER_CHECK(steps >= 1 && steps <= kMaxSteps, "'steps' must be between 1 and {}, not {}", kMaxSteps, steps);
  const auto flags = parse_change(change);
  std::optional<JobCommand> command = recorded_command(run_dir);
  SIEVE_USER_CHECK(command.has_value(), "run '{}' has no command.json: its settings are unknown", run);

  // The run's settings for a short fresh run: no resuming, no time or epoch limit.
  JobCommand baseline = *command;
  for (const char* flag : {"--resume", "--epochs", "--max-minutes"}) baseline.args = without_flag(baseline.args, flag);
  baseline.args = with_flag(baseline.args, "--steps", {std::to_string(steps)});
  // A new model's tokenizer is the run's: training it again would only cost time.
  if (baseline.verb == "train" && !has_flag(baseline.args, "--model-path") && !has_flag(baseline.args, "--tokenizer") &&
      fs::is_regular_file(run_dir / "tokenizer.model"))
    baseline.args = with_flag(baseline.args, "--tokenizer", {(run_dir / "tokenizer.model").string()});
  JobCommand variant = baseline;
  for (const auto& [flag, value] : flags)
    variant.args = with_flag(variant.args, flag, value.empty() ? std::vector<std::string>{} : std::vector{value});

  std::lock_guard lock(mutex_);
  std::string id;
  for (int n = 1;; ++n) {
    id = fmt::format("{}.try-{}-{}", run, rule, n);
    if (!trials_.contains(id) && !fs::exists(root / id)) break;
  }
  const fs::path dir = new_run_directory(root, id);
  new_run_directory(root, id + "/baseline");  // deep enough for its two runs
  fs::create_directory(dir);
  baseline.args = with_flag(baseline.args, "--out", {(dir / "baseline").string()});
  variant.args = with_flag(variant.args, "--out", {(dir / "variant").string()});

  Trial& trial = trials_[id];
  trial.dir = dir;
  trial.baseline = std::move(baseline);
  trial.variant = std::move(variant);
  trial.json = {{"id", id},
                {"run", run},
                {"rule", rule},
                {"state", "queued"},
                {"steps", steps},
                {"change", change},
                {"measure", measure},
                {"baseline", {{"run", id + "/baseline"}}},
                {"variant", {{"run", id + "/variant"}}},
                {"difference", nullptr},
                {"relative", nullptr},
                {"verdict", nullptr},
                {"created_unix_time", unix_time_now()}};
  save(trial);
  queue_.push_back(id);
  wake_.notify_all();
  return id;
}

json TryItManager::trials() const {
  std::lock_guard lock(mutex_);
  std::vector<json> list;
  for (const auto& [id, trial] : trials_) list.push_back(trial.json);
  std::stable_sort(list.begin(), list.end(), [](const json& a, const json& b) {
    return number_or(a, "created_unix_time", 0) < number_or(b, "created_unix_time", 0);
  });
  return {{"trials", list}};
}

json TryItManager::trial(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = trials_.find(id);
  if (it == trials_.end()) throw RunNotFound(fmt::format("no trial '{}'", id));
  return it->second.json;
}

void TryItManager::work() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return closing_ || !queue_.empty(); });
    if (closing_) break;
    const std::string id = queue_.front();
    queue_.pop_front();
    Trial& trial = trials_.at(id);  // map nodes stay put
    trial.json["state"] = "running";
    save(trial);
    const JobCommand baseline = trial.baseline;
    const JobCommand variant = trial.variant;
    lock.unlock();
    // Both runs get the threads of a job alone, so their speeds compare.
    std::string error = train(id + "/baseline", baseline, jobs_.solo_threads());
    if (error.empty()) error = train(id + "/variant", variant, jobs_.solo_threads());
    lock.lock();
    if (error.empty()) {
      conclude(trial);
    } else {
      trial.json["state"] = "failed";
      trial.json["error"] = error;
    }
    save(trial);
  }
  for (const std::string& id : queue_) {
    Trial& trial = trials_.at(id);
    trial.json["state"] = "failed";
    trial.json["error"] = "the dashboard stopped before the trial started";
    save(trial);
  }
}

// Without the lock: trains one run to its end; returns why it did not finish ("" when it did).
std::string TryItManager::train(const std::string& run, const JobCommand& command, int threads) {
  try {
    jobs_.start(run, command, threads);
  } catch (const std::exception& e) {
    return fmt::format("{} did not start: {}", run, e.what());
  }
  while (!jobs_.wait_until_ended(run, 250ms)) {
    bool closing = false;
    {
      std::lock_guard lock(mutex_);
      closing = closing_;
    }
    if (!closing) continue;
    try {
      jobs_.stop(run);
    } catch (const std::exception&) {
      // Ended meanwhile, or its directory is gone.
    }
    jobs_.wait_until_ended(run, 24h);
    return "the dashboard stopped before the trial finished";
  }
  const std::string state = jobs_.status(run)->state;
  return state == "finished" ? "" : fmt::format("{} {}: see its train.log", run, state);
}

// With the lock held.
void TryItManager::conclude(Trial& trial) {
  const RunSummary baseline = summarize_run(trial.dir / "baseline");
  const RunSummary variant = summarize_run(trial.dir / "variant");
  trial.json["baseline"].update(summary_json(baseline));
  trial.json["variant"].update(summary_json(variant));
  const std::string measure = trial.json["measure"];
  const std::optional<double> before = measured(baseline, measure);
  const std::optional<double> after = measured(variant, measure);
  if (!before || !after) {
    trial.json["state"] = "failed";
    trial.json["error"] = fmt::format("the runs did not both report {}", measure);
    return;
  }
  trial.json["difference"] = *after - *before;
  trial.json["relative"] = *before != 0 ? json((*after - *before) / std::abs(*before)) : json(nullptr);
  trial.json["verdict"] = try_verdict(measure, *before, *after);
  trial.json["state"] = "done";
}

void TryItManager::save(const Trial& trial) const {
  try {
    core::write_file_atomically(trial.dir / "try.json", trial.json.dump(2) + "\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dashboard: %s\n", e.what());  // listed while the dashboard runs, not after
  }
}

}  // namespace sieve::dashboard
