#include "apps/dashboard/jobs/launch_form.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "apps/dashboard/runs/run_path.h"
#include "sieve/core/error.h"

namespace sieve::dashboard {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::array kFields{"name",  "preset",     "model",         "dataset",      "precision",    "lr",
                             "batch", "grad_accum", "context",       "attention",    "tau",          "lora_rank",
                             "steps", "max_bytes",  "eval_interval", "log_interval", "eval_windows", "val_fraction"};
constexpr std::array kBuiltinDatasets{"gcide", "foldoc", "wikitext-2"};

// The form's fields, read with type and range checks.
class Form {
 public:
  explicit Form(const json& form) : form_(form) {
    SIEVE_USER_CHECK(form.is_object(), "the launch form must be a JSON object");
    for (const auto& [key, value] : form.items())
      SIEVE_USER_CHECK(std::find(kFields.begin(), kFields.end(), key) != kFields.end(),
                       "unknown launch form field '{}'", key);
  }

  bool has(const char* field) const { return form_.contains(field) && !form_[field].is_null(); }

  std::string text(const char* field) const {
    SIEVE_USER_CHECK(form_[field].is_string(), "'{}' must be a string", field);
    return form_[field].get<std::string>();
  }

  template <std::size_t N>
  std::string choice(const char* field, const std::array<const char*, N>& options) const {
    const std::string value = text(field);
    SIEVE_USER_CHECK(std::find(options.begin(), options.end(), value) != options.end(),
                     "'{}' must be one of {}, not '{}'", field, fmt::join(options, ", "), value);
    return value;
  }

  std::int64_t integer(const char* field, std::int64_t low, std::int64_t high) const {
    const json& value = form_[field];
    const bool integral = value.is_number_integer() ||
                          (value.is_number_float() && std::nearbyint(value.get<double>()) == value.get<double>());
    SIEVE_USER_CHECK(integral, "'{}' must be a whole number", field);
    const double number = value.get<double>();
    SIEVE_USER_CHECK(number >= static_cast<double>(low) && number <= static_cast<double>(high),
                     "'{}' must be between {} and {}, not {}", field, low, high, number);
    return static_cast<std::int64_t>(number);
  }

  // A number in (low, high] when `open_low`, else [low, high].
  double real(const char* field, double low, double high, bool open_low) const {
    SIEVE_USER_CHECK(form_[field].is_number(), "'{}' must be a number", field);
    const double value = form_[field].get<double>();
    SIEVE_USER_CHECK(std::isfinite(value) && (open_low ? value > low : value >= low) && value <= high,
                     "'{}' must be in {}{}, {}], not {}", field, open_low ? "(" : "[", low, high, value);
    return value;
  }

 private:
  const json& form_;
};

std::string number_text(double value) { return fmt::format("{:.9g}", value); }

std::string dataset_argument(const Form& form, const fs::path& root) {
  SIEVE_USER_CHECK(form.has("dataset"),
                   "'dataset' is required: gcide, foldoc, wikitext-2 or a file under the runs directory");
  const std::string dataset = form.text("dataset");
  if (std::find(kBuiltinDatasets.begin(), kBuiltinDatasets.end(), dataset) != kBuiltinDatasets.end()) return dataset;
  const fs::path file = existing_under_root(root, dataset, "dataset file");
  SIEVE_USER_CHECK(fs::is_regular_file(file), "dataset '{}' is not a file", dataset);
  return file.string();
}

fs::path model_directory(const Form& form, const fs::path& root) {
  const std::string model = form.text("model");
  const fs::path dir = existing_under_root(root, model, "model run");
  SIEVE_USER_CHECK(fs::is_regular_file(dir / "config.json") && fs::is_regular_file(dir / "model.safetensors"),
                   "run '{}' holds no model (config.json and model.safetensors)", model);
  return dir;
}

}  // namespace

LaunchPlan plan_launch(const json& body, const fs::path& root, bool allow_nested) {
  const Form form(body);
  LaunchPlan plan;
  SIEVE_USER_CHECK(form.has("name"), "'name' is required: the new run's directory name");
  plan.run = form.text("name");
  SIEVE_USER_CHECK(allow_nested || is_run_name_part(plan.run),
                   "'name' must be letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 "
                   "characters, not '{}'",
                   plan.run);
  plan.dir = new_run_directory(root, plan.run);
  plan.command.cwd = root;

  SIEVE_USER_CHECK(form.has("preset") != form.has("model"),
                   "give exactly one of 'preset' (a new model) and 'model' (a run's model)");
  const std::int64_t lora_rank = form.has("lora_rank") ? form.integer("lora_rank", 0, 1024) : 0;
  std::vector<std::string>& args = plan.command.args;
  if (form.has("preset")) {
    SIEVE_USER_CHECK(lora_rank == 0, "'lora_rank' needs 'model': LoRA adapts an existing model");
    plan.command.verb = "train";
    args = {"--out", plan.dir.string(), "--preset", form.choice("preset", std::array{"tiny", "demo", "lm-17m"})};
  } else {
    const fs::path model = model_directory(form, root);
    SIEVE_USER_CHECK(!form.has("attention") && !form.has("tau"),
                     "'attention' and 'tau' are for new models: a model keeps the attention in its config.json");
    if (lora_rank > 0) {
      plan.command.verb = "finetune";
      args = {"--model",     model.string(),           "--out", plan.dir.string(), "--lora",
              "--lora-rank", std::to_string(lora_rank)};
    } else {
      plan.command.verb = "train";
      args = {"--model-path", model.string(), "--out", plan.dir.string()};
    }
  }
  args.insert(args.end(), {"--data", dataset_argument(form, root)});

  const auto add = [&](const char* flag, std::string value) { args.insert(args.end(), {flag, std::move(value)}); };
  if (form.has("precision"))
    add("--precision", form.choice("precision", std::array{"fp32", "bf16", "fp16", "tf32", "auto"}));
  if (form.has("lr")) add("--lr", number_text(form.real("lr", 0.0, 1.0, true)));
  if (form.has("batch")) add("--batch", std::to_string(form.integer("batch", 1, 1024)));
  if (form.has("grad_accum")) add("--grad-accum", std::to_string(form.integer("grad_accum", 1, 1024)));
  if (form.has("context")) add("--context", std::to_string(form.integer("context", 8, 65536)));
  if (form.has("attention")) add("--attention", form.choice("attention", std::array{"dense", "local", "sparse"}));
  if (form.has("tau")) {
    SIEVE_USER_CHECK(form.has("attention") && form.text("attention") == "sparse",
                     "'tau' needs 'attention': \"sparse\"");
    add("--dynamic-sparse-threshold", number_text(form.real("tau", 0.0, 1.0, false)));
  }
  if (form.has("steps")) add("--steps", std::to_string(form.integer("steps", 1, 10'000'000)));
  if (form.has("max_bytes")) {
    const std::int64_t max_bytes = form.integer("max_bytes", 0, std::int64_t{1} << 40);
    if (max_bytes > 0) add("--max-bytes", std::to_string(max_bytes));
  }
  if (form.has("eval_interval")) add("--eval-interval", std::to_string(form.integer("eval_interval", 0, 10'000'000)));
  if (form.has("log_interval")) add("--log-interval", std::to_string(form.integer("log_interval", 1, 10'000'000)));
  if (form.has("eval_windows")) add("--eval-windows", std::to_string(form.integer("eval_windows", 0, 1'000'000)));
  if (form.has("val_fraction")) add("--val-fraction", number_text(form.real("val_fraction", 0.0, 0.5, true)));
  return plan;
}

}  // namespace sieve::dashboard
