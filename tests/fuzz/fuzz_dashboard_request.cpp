// libFuzzer target: the JSON bodies `sieve dashboard` accepts for writes — a launch form
// (jobs/launch_form.h) and a search spec (jobs/search_spec.h) — checked against a runs directory
// that holds a dataset file, a model run and a link out. A core::UserError is the expected answer
// to a bad body; an accepted one must name a run inside the runs directory and a command whose
// every argument is a plain string.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "apps/dashboard/jobs/launch_form.h"
#include "apps/dashboard/jobs/search_spec.h"
#include "apps/dashboard/runs/run_path.h"
#include "fuzz_inputs.h"
#include "sieve/core/error.h"

namespace fz = sieve::fuzz;
namespace db = sieve::dashboard;

namespace {

const std::filesystem::path& runs_root() {
  static const std::filesystem::path root = [] {
    const std::filesystem::path dir = fz::scratch_dir() / "runs";
    std::filesystem::create_directories(dir / "model");
    fz::put_file(dir / "corpus.txt", "a few words\n");
    fz::put_file(dir / "model" / "config.json", "{}");
    fz::put_file(dir / "model" / "model.safetensors", "");
    std::error_code ignored;
    std::filesystem::create_directory_symlink("/", dir / "out", ignored);
    return std::filesystem::canonical(dir);
  }();
  return root;
}

void check_command(const db::JobCommand& command) {
  for (const std::string& arg : command.args)
    if (arg.find('\0') != std::string::npos) fz::broken("a command argument holds a NUL byte");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) return 0;
  try {
    const db::LaunchPlan plan = db::plan_launch(body, runs_root());
    if (!db::is_valid_run_name(plan.run)) fz::broken("an accepted form names a malformed run");
    if (!db::is_within(runs_root(), std::filesystem::weakly_canonical(plan.dir)))
      fz::broken("an accepted form's run lies outside the runs directory");
    check_command(plan.command);
  } catch (const sieve::core::UserError&) {
  }
  try {
    const db::SearchPlan plan = db::plan_search(body, runs_root(), 2);
    for (const auto& trial : plan.trials) check_command(trial.command);
  } catch (const sieve::core::UserError&) {
  }
  return 0;
}
