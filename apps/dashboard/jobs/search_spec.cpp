#include "apps/dashboard/jobs/search_spec.h"

#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include <fmt/format.h>

#include "apps/dashboard/jobs/launch_form.h"
#include "apps/dashboard/runs/run_path.h"
#include "sieve/core/error.h"

namespace sieve::dashboard {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxTrials = 64;
constexpr std::size_t kMaxParameters = 8;
constexpr std::size_t kMaxValues = 32;
constexpr std::size_t kMaxRungs = 8;
const std::set<std::string> kSpecFields{"name", "base", "mode", "trials", "seed", "parameters", "rungs", "eta", "parallel"};
const std::set<std::string> kIntegerFields{"batch",     "grad_accum",    "context",      "lora_rank",   "steps",
                                           "max_bytes", "eval_interval", "log_interval", "eval_windows"};

struct Parameter {
  std::string name;
  std::vector<json> values;  // a list to choose from; empty: the range below
  double min = 0, max = 0;
  bool log = false;
};

int integer_field(const json& spec, const char* field, int low, int high, int fallback) {
  if (!spec.contains(field) || spec[field].is_null()) return fallback;
  SIEVE_USER_CHECK(spec[field].is_number_integer(), "'{}' must be a whole number", field);
  const std::int64_t value = spec[field].get<std::int64_t>();
  SIEVE_USER_CHECK(value >= low && value <= high, "'{}' must be between {} and {}, not {}", field, low, high, value);
  return static_cast<int>(value);
}

Parameter parse_parameter(const json& entry, bool random) {
  SIEVE_USER_CHECK(entry.is_object() && entry.contains("name") && entry["name"].is_string(),
                   "each of 'parameters' needs a \"name\"");
  Parameter parameter;
  parameter.name = entry["name"].get<std::string>();
  SIEVE_USER_CHECK(parameter.name != "name" && parameter.name != "steps" && parameter.name != "eval_interval",
                   "'{}' cannot be searched over (the rungs set steps and eval_interval)", parameter.name);
  if (entry.contains("values")) {
    const json& values = entry["values"];
    SIEVE_USER_CHECK(values.is_array() && !values.empty() && values.size() <= kMaxValues,
                     "parameter '{}': 'values' must be a list of 1 to {} values", parameter.name, kMaxValues);
    parameter.values.assign(values.begin(), values.end());
    return parameter;
  }
  SIEVE_USER_CHECK(random, "parameter '{}': a grid search needs a 'values' list", parameter.name);
  SIEVE_USER_CHECK(
      entry.contains("min") && entry["min"].is_number() && entry.contains("max") && entry["max"].is_number(),
      "parameter '{}' needs 'values', or numbers 'min' and 'max'", parameter.name);
  parameter.min = entry["min"].get<double>();
  parameter.max = entry["max"].get<double>();
  SIEVE_USER_CHECK(!entry.contains("log") || entry["log"].is_boolean(), "parameter '{}': 'log' must be true or false",
                   parameter.name);
  parameter.log = entry.value("log", false);
  SIEVE_USER_CHECK(std::isfinite(parameter.min) && std::isfinite(parameter.max) && parameter.min <= parameter.max,
                   "parameter '{}': 'min' must not exceed 'max'", parameter.name);
  SIEVE_USER_CHECK(!parameter.log || parameter.min > 0, "parameter '{}': a log range needs 'min' > 0", parameter.name);
  return parameter;
}

json draw(const Parameter& parameter, std::mt19937_64& generator) {
  if (!parameter.values.empty())
    return parameter.values[std::uniform_int_distribution<std::size_t>(0, parameter.values.size() - 1)(generator)];
  const double unit = std::uniform_real_distribution<double>(0.0, 1.0)(generator);
  const double value =
      parameter.log ? std::exp(std::log(parameter.min) + unit * (std::log(parameter.max) - std::log(parameter.min)))
                    : parameter.min + unit * (parameter.max - parameter.min);
  if (kIntegerFields.contains(parameter.name)) return static_cast<std::int64_t>(std::llround(value));
  return value;
}

// Every combination of the parameters' values, the first parameter varying slowest.
std::vector<json> grid(const std::vector<Parameter>& parameters) {
  std::size_t count = 1;
  for (const Parameter& parameter : parameters) {
    count *= parameter.values.size();
    SIEVE_USER_CHECK(count <= kMaxTrials, "the grid has more than {} trials", kMaxTrials);
  }
  std::vector<json> combinations;
  for (std::size_t index = 0; index < count; ++index) {
    json params = json::object();
    std::size_t rest = index;
    for (auto it = parameters.rbegin(); it != parameters.rend(); ++it) {
      params[it->name] = it->values[rest % it->values.size()];
      rest /= it->values.size();
    }
    combinations.push_back(params);
  }
  return combinations;
}

}  // namespace

SearchPlan plan_search(const json& spec, const std::filesystem::path& root, int cores) {
  SIEVE_USER_CHECK(spec.is_object(), "the search must be a JSON object");
  for (const auto& [key, value] : spec.items())
    SIEVE_USER_CHECK(kSpecFields.contains(key), "unknown search field '{}'", key);
  SearchPlan plan;
  SIEVE_USER_CHECK(
      spec.contains("name") && spec["name"].is_string() && is_run_name_part(spec["name"].get<std::string>()),
      "'name' must be a new run directory name: letters, digits, '.', '_' and '-', starting with a letter "
      "or digit");
  plan.name = spec["name"].get<std::string>();
  new_run_directory(root, plan.name);
  SIEVE_USER_CHECK(spec.contains("base") && spec["base"].is_object(), "'base' must be a launch form (without 'name')");
  const json& base = spec["base"];
  SIEVE_USER_CHECK(!base.contains("name"), "'base' must not have a 'name': each trial gets its own");

  const json mode_field = spec.value("mode", json("grid"));
  SIEVE_USER_CHECK(mode_field == "grid" || mode_field == "random", "'mode' must be \"grid\" or \"random\", not {}",
                   mode_field.dump());
  const std::string mode = mode_field.get<std::string>();
  const bool random = mode == "random";
  SIEVE_USER_CHECK(spec.contains("parameters") && spec["parameters"].is_array() && !spec["parameters"].empty() &&
                       spec["parameters"].size() <= kMaxParameters,
                   "'parameters' must list 1 to {} parameters", kMaxParameters);
  std::vector<Parameter> parameters;
  std::set<std::string> seen;
  for (const json& entry : spec["parameters"]) {
    parameters.push_back(parse_parameter(entry, random));
    SIEVE_USER_CHECK(seen.insert(parameters.back().name).second, "parameter '{}' is given twice",
                     parameters.back().name);
  }

  std::vector<json> combinations;
  if (random) {
    const int trials = integer_field(spec, "trials", 1, static_cast<int>(kMaxTrials), 0);
    SIEVE_USER_CHECK(trials > 0, "a random search needs 'trials'");
    SIEVE_USER_CHECK(
        !spec.contains("seed") || (spec["seed"].is_number_integer() && spec["seed"].get<std::int64_t>() >= 0),
        "'seed' must be a whole number >= 0");
    std::mt19937_64 generator(spec.contains("seed") ? spec["seed"].get<std::uint64_t>() : 0);
    for (int t = 0; t < trials; ++t) {
      json params = json::object();
      for (const Parameter& parameter : parameters) params[parameter.name] = draw(parameter, generator);
      combinations.push_back(params);
    }
  } else {
    SIEVE_USER_CHECK(!spec.contains("trials") && !spec.contains("seed"), "'trials' and 'seed' are for random searches");
    combinations = grid(parameters);
  }

  if (spec.contains("rungs") && !spec["rungs"].is_null()) {
    const json& rungs = spec["rungs"];
    SIEVE_USER_CHECK(rungs.is_array() && !rungs.empty() && rungs.size() <= kMaxRungs,
                     "'rungs' must list 1 to {} step counts", kMaxRungs);
    for (const json& rung : rungs) {
      SIEVE_USER_CHECK(
          rung.is_number_integer() && rung.get<std::int64_t>() >= 1 && rung.get<std::int64_t>() <= 10'000'000,
          "'rungs' must be step counts from 1 to 10^7");
      SIEVE_USER_CHECK(plan.rungs.empty() || rung.get<std::int64_t>() > plan.rungs.back(), "'rungs' must be ascending");
      plan.rungs.push_back(rung.get<std::int64_t>());
    }
  }
  if (plan.rungs.empty()) {
    SIEVE_USER_CHECK(base.contains("steps") && base["steps"].is_number_integer(),
                     "give 'rungs', or 'steps' in 'base' for a search without early stopping");
    plan.rungs.push_back(base["steps"].get<std::int64_t>());
  }
  plan.eta = integer_field(spec, "eta", 2, 16, 3);
  plan.parallel = integer_field(spec, "parallel", 1, cores, cores);

  const int digits = combinations.size() > 99 ? 3 : 2;
  for (std::size_t t = 0; t < combinations.size(); ++t) {
    SearchTrialPlan trial;
    trial.run = fmt::format("{}/trial-{:0{}}", plan.name, t + 1, digits);
    trial.params = combinations[t];
    trial.form = base;
    trial.form.update(trial.params);
    trial.form["name"] = trial.run;
    trial.form["steps"] = plan.rungs.back();
    if (plan.rungs.size() > 1)
      trial.form["eval_interval"] = std::accumulate(plan.rungs.begin(), plan.rungs.end(), std::int64_t{0},
                                                    [](std::int64_t a, std::int64_t b) { return std::gcd(a, b); });
    try {
      trial.command = plan_launch(trial.form, root, /*allow_nested=*/true).command;
    } catch (const core::UserError& e) {
      core::throw_user_error("trial {} ({}): {}", t + 1, trial.params.dump(), e.what());
    }
    plan.trials.push_back(std::move(trial));
  }
  return plan;
}

}  // namespace sieve::dashboard
