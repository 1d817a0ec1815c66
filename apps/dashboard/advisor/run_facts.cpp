// What the rules read from a run (rules.h): its command line, its series, its precision, peak
// learning rate, memory and size.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "apps/dashboard/advisor/rules.h"
#include "sieve/io/model_config.h"

namespace sieve::dashboard {

std::optional<std::string> command_flag(const nlohmann::json& command, std::string_view flag) {
  if (!command.is_object() || !command.contains("args") || !command["args"].is_array()) return std::nullopt;
  const nlohmann::json& args = command["args"];
  std::optional<std::string> value;
  const std::string with_equals = std::string(flag) + "=";
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (!args[i].is_string()) continue;
    const std::string& word = args[i].get_ref<const std::string&>();
    if (word == flag && i + 1 < args.size() && args[i + 1].is_string()) {
      value = args[i + 1].get<std::string>();
    } else if (word.starts_with(with_equals)) {
      value = word.substr(with_equals.size());
    }
  }
  return value;
}

std::optional<double> command_number(const nlohmann::json& command, std::string_view flag) {
  const std::optional<std::string> text = command_flag(command, flag);
  if (!text) return std::nullopt;
  try {
    std::size_t used = 0;
    const double value = std::stod(*text, &used);
    if (used == text->size() && std::isfinite(value)) return value;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

bool command_switch(const nlohmann::json& command, std::string_view flag) {
  if (!command.is_object() || !command.contains("args") || !command["args"].is_array()) return false;
  for (const nlohmann::json& word : command["args"])
    if (word.is_string() && word.get_ref<const std::string&>() == flag) return true;
  return false;
}

std::string command_verb(const nlohmann::json& command) {
  return command.is_object() && command.contains("verb") && command["verb"].is_string()
             ? command["verb"].get<std::string>()
             : std::string();
}

std::vector<Point> points(const std::vector<nlohmann::json>& records, const char* field) {
  std::vector<Point> out;
  for (const nlohmann::json& record : records) {
    const double value = number_or(record, field, NAN);
    const double step = number_or(record, "step", NAN);
    if (std::isfinite(value) && std::isfinite(step)) out.push_back({step, value});
  }
  return out;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  const std::size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle), values.end());
  const double upper = values[middle];
  if (values.size() % 2 == 1) return upper;
  return (*std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle)) + upper) / 2.0;
}

std::string run_precision(const RunSeries& series) {
  const auto precision_of = [](const nlohmann::json& record) -> std::string {
    if (!record.is_object() || !record.contains("precision") || !record["precision"].is_string()) return "";
    const std::string text = record["precision"].get<std::string>();
    return text.substr(0, text.find(' '));  // "bf16 (f32 activations)" → "bf16"
  };
  std::string precision = precision_of(series.start);
  if (precision.empty() && !series.train.empty()) precision = precision_of(series.train.back());
  return precision;
}

double peak_lr(const RunInput& run) {
  if (const std::optional<double> lr = command_number(run.command, "--lr"); lr && *lr > 0.0) return *lr;
  double peak = 0.0;
  for (const Point& point : points(run.series.train, "lr")) peak = std::max(peak, point.value);
  return peak;
}

double peak_rss_mb(const RunSeries& series) {
  double peak = 0.0;
  for (const Point& point : points(series.train, "peak_rss_mb")) peak = std::max(peak, point.value);
  return peak;
}

double gemm_parameters(const RunInput& run) {
  if (run.config.is_object()) {
    try {
      const nn::LlamaConfig config = io::parse_llama_config(run.config, "config.json");
      const double hidden = static_cast<double>(config.hidden_size), head = static_cast<double>(config.head_dim());
      double count = static_cast<double>(config.vocab_size) * hidden;  // the LM head
      for (std::int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
        const double q = static_cast<double>(config.heads(layer)) * head;
        const double kv = static_cast<double>(config.kv_heads(layer)) * head;
        // q and o projections, k and v, gate, up and down
        count += hidden * (2.0 * q + 2.0 * kv + 3.0 * static_cast<double>(config.intermediate(layer)));
      }
      return count;
    } catch (const std::exception&) {
      // not a language-model config (or a malformed one): fall back to the start record's count
    }
  }
  return std::max(0.0, number_or(run.series.start, "parameters", 0.0));
}

std::string number_text(double value) {
  // Whole numbers (steps, batch sizes, loss scales, byte counts) in full; others to 3 digits.
  if (std::abs(value) < 1e15 && value == std::round(value)) return fmt::format("{:.0f}", value);
  return fmt::format("{:.3g}", value);
}

}  // namespace sieve::dashboard
