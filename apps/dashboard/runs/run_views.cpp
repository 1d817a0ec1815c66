#include "apps/dashboard/runs/run_views.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>

#include "apps/dashboard/runs/run_json.h"

namespace sieve::dashboard {
namespace {

constexpr std::uintmax_t kLogTailBytes = 4096;
// A run whose metrics changed this recently is taken to be training.
constexpr double kActiveSeconds = 60.0;
// The ETA uses the pace over the last this-many train records of the current session.
constexpr std::size_t kPaceRecords = 5;

// The train and eval fields the run list shows, newest value of each.
const char* const kLatestFields[] = {"loss",         "lr",          "grad_norm",      "tokens_per_s",
                                     "loss_scale",   "skipped_total", "peak_rss_mb",  "peak_memory_mb",
                                     "val_loss",     "val_ppl",     "dense_mass_coverage"};

// The records after the last "start" (the current session of a resumed run).
std::vector<nlohmann::json> current_session(const std::vector<nlohmann::json>& records) {
  std::vector<nlohmann::json> session;
  for (const nlohmann::json& record : records) {
    if (record.at("event") == "start") session.clear();
    if (record.at("event") == "train") session.push_back(record);
  }
  return session;
}

nlohmann::json latest_values(const std::vector<nlohmann::json>& records) {
  nlohmann::json latest = nlohmann::json::object();
  for (const nlohmann::json& record : records)
    for (const char* field : kLatestFields)
      if (const auto it = record.find(field); it != record.end() && it->is_number()) latest[field] = *it;
  return latest;
}

std::string log_tail(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const std::streamoff size = in.tellg();
  const std::streamoff start = std::max<std::streamoff>(0, size - static_cast<std::streamoff>(kLogTailBytes));
  in.seekg(start);
  std::string text(static_cast<std::size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  // Progress lines redraw with '\r': keep what a terminal would show.
  std::string shown;
  std::size_t line_start = 0;
  for (const char c : text) {
    if (c == '\r') {
      shown.resize(line_start);
    } else {
      shown.push_back(c);
      if (c == '\n') line_start = shown.size();
    }
  }
  return shown;  // invalid UTF-8 is replaced when the reply is written
}

std::vector<std::string> checkpoint_names(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& child : std::filesystem::directory_iterator(dir / "checkpoints", error))
    if (child.is_directory(error) && child.path().filename().string().starts_with("step-"))
      names.push_back(child.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// key → value for one run: config.json's fields, the start record's, and the command's flags.
std::map<std::string, nlohmann::json> settings_of(const RunSnapshot& run, const RunSeries& series) {
  std::map<std::string, nlohmann::json> settings;
  const nlohmann::json config = read_run_json(run.dir / "config.json");
  if (config.is_object())
    for (const auto& [key, value] : config.items()) settings["config." + key] = value;
  if (series.start.is_object())
    for (const auto& [key, value] : series.start.items())
      if (key != "event" && key != "step" && key != "unix_time") settings["start." + key] = value;
  const nlohmann::json command = read_run_json(run.dir / "command.json");
  if (command.is_object() && command.value("args", nlohmann::json()).is_array()) {
    const nlohmann::json& args = command.at("args");
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (!args[i].is_string() || !args[i].get_ref<const std::string&>().starts_with("--")) continue;
      const bool has_value = i + 1 < args.size() && args[i + 1].is_string() &&
                             !args[i + 1].get_ref<const std::string&>().starts_with("--");
      settings["flag." + args[i].get<std::string>()] = has_value ? args[i + 1] : nlohmann::json(true);
    }
  }
  return settings;
}

nlohmann::json final_metrics(const std::string& name, const RunSeries& series) {
  nlohmann::json row = {{"name", name}};
  if (!series.train.empty()) {
    const nlohmann::json& last = series.train.back();
    row["step"] = last.at("step");
    for (const char* field : {"loss", "skipped_total", "peak_rss_mb"})
      if (last.contains(field)) row[field] = last[field];
    double rate_sum = 0.0;
    int rates = 0;
    for (const nlohmann::json& record : series.train)
      if (const double rate = number_or(record, "tokens_per_s", -1); rate >= 0) rate_sum += rate, ++rates;
    if (rates > 0) row["mean_tokens_per_s"] = rate_sum / rates;
  }
  if (!series.eval.empty()) {
    row["val_loss"] = series.eval.back().value("val_loss", nlohmann::json());
    row["val_ppl"] = series.eval.back().value("val_ppl", nlohmann::json());
    double best = std::numeric_limits<double>::infinity();
    for (const nlohmann::json& record : series.eval) best = std::min(best, number_or(record, "val_loss", best));
    if (std::isfinite(best)) row["best_val_loss"] = best;
  }
  return row;
}

// A run's series, the train records of its current session and its status, read once per view.
struct RunState {
  RunSeries series;
  std::vector<nlohmann::json> session;
  std::string status;
};

std::string status_of(const RunSnapshot& run, const RunSeries& series, double now_unix_time) {
  const nlohmann::json job = read_run_json(run.dir / kJobRecordFile);
  if (job.is_object() && job.value("state", nlohmann::json()).is_string()) return job.at("state");
  if (run.records.empty()) return "idle";
  const double steps = number_or(series.start, "steps", -1);
  if (!series.train.empty() && steps > 0 && number_or(series.train.back(), "step", 0) >= steps) return "finished";
  return now_unix_time - run.modified_unix_time < kActiveSeconds ? "running" : "stopped";
}

RunState state_of(const RunSnapshot& run, double now_unix_time) {
  RunState state{series_of(run.records), current_session(run.records), ""};
  state.status = status_of(run, state.series, now_unix_time);
  return state;
}

nlohmann::json progress_of(const RunState& state) {
  const RunSeries& series = state.series;
  const std::vector<nlohmann::json>& session = state.session;
  const auto steps = static_cast<std::int64_t>(number_or(series.start, "steps", 0));
  const auto step = static_cast<std::int64_t>(
      series.train.empty() ? number_or(series.start, "step", 0) : number_or(series.train.back(), "step", 0));
  nlohmann::json progress = {
      {"step", step},
      {"steps", steps},
      {"fraction", steps > 0 ? std::min(1.0, static_cast<double>(step) / static_cast<double>(steps)) : 0.0},
      {"elapsed_s", session.empty() ? 0.0 : number_or(session.back(), "time_s", 0)},
      {"tokens_per_s", session.empty() ? nlohmann::json() : session.back().value("tokens_per_s", nlohmann::json())},
      {"eta_s", nullptr}};
  if (session.size() >= 2 && step < steps && state.status == "running") {
    const nlohmann::json& first = session[session.size() - std::min(session.size(), kPaceRecords)];
    const nlohmann::json& last = session.back();
    const double seconds = number_or(last, "unix_time", 0) - number_or(first, "unix_time", 0);
    const double done = number_or(last, "step", 0) - number_or(first, "step", 0);
    if (seconds > 0 && done > 0) progress["eta_s"] = static_cast<double>(steps - step) * seconds / done;
  }
  return progress;
}

nlohmann::json summary_of(const std::string& name, const RunSnapshot& run, const RunState& state) {
  const nlohmann::json progress = progress_of(state);
  return {{"name", name},
          {"status", state.status},
          {"step", progress["step"]},
          {"steps", progress["steps"]},
          {"updated_unix_time", run.modified_unix_time},
          {"latest", latest_values(run.records)}};
}

}  // namespace

std::string run_status(const RunSnapshot& run, double now_unix_time) {
  return status_of(run, series_of(run.records), now_unix_time);
}

nlohmann::json run_progress(const RunSnapshot& run, double now_unix_time) {
  return progress_of(state_of(run, now_unix_time));
}

nlohmann::json run_summary(const std::string& name, const RunSnapshot& run, double now_unix_time) {
  return summary_of(name, run, state_of(run, now_unix_time));
}

nlohmann::json run_detail(const std::string& name, const RunSnapshot& run, double now_unix_time) {
  const RunState state = state_of(run, now_unix_time);
  nlohmann::json detail = summary_of(name, run, state);
  detail["config"] = read_run_json(run.dir / "config.json");
  detail["command"] = read_run_json(run.dir / "command.json");
  detail["start"] = state.series.start;
  detail["progress"] = progress_of(state);
  detail["checkpoints"] = checkpoint_names(run.dir);
  detail["log_tail"] = log_tail(run.dir / "train.log");
  detail["bad_lines"] = run.bad_lines;
  return detail;
}

nlohmann::json compare_runs(const std::vector<std::string>& names, const std::vector<RunSnapshot>& runs) {
  nlohmann::json final_rows = nlohmann::json::array();
  std::vector<std::map<std::string, nlohmann::json>> settings;
  std::set<std::string> keys;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunSeries series = series_of(runs[i].records);
    final_rows.push_back(final_metrics(names[i], series));
    settings.push_back(settings_of(runs[i], series));
    for (const auto& [key, value] : settings.back()) keys.insert(key);
  }
  nlohmann::json differences = nlohmann::json::array();
  for (const std::string& key : keys) {
    nlohmann::json values = nlohmann::json::array();
    for (const auto& run_settings : settings) {
      const auto it = run_settings.find(key);
      values.push_back(it == run_settings.end() ? nlohmann::json(nullptr) : it->second);
    }
    if (std::any_of(values.begin(), values.end(), [&](const nlohmann::json& v) { return v != values.front(); }))
      differences.push_back({{"key", key}, {"values", values}});
  }
  return {{"runs", names}, {"final", final_rows}, {"config_differences", differences}};
}

}  // namespace sieve::dashboard
