// libFuzzer target: what `sieve dashboard` and `sieve advise` read of a run directory —
// metrics.jsonl, config.json, command.json, job.json and train.log (parts of the input,
// fuzz_inputs.h) — through the views its API serves and the advisor's rules (judged against a
// fixed machine profile: nothing is timed). Nothing in a run directory may crash or hang them;
// every view must come out as JSON that can be written.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "apps/dashboard/advisor/advisor.h"
#include "apps/dashboard/advisor/run_inputs.h"
#include "apps/dashboard/runs/run_catalog.h"
#include "apps/dashboard/runs/run_views.h"
#include "fuzz_inputs.h"

namespace fz = sieve::fuzz;
namespace db = sieve::dashboard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string_view> parts = fz::split_parts(input, 5);
  const std::filesystem::path run = fz::scratch_dir() / "run";
  std::filesystem::create_directories(run);
  fz::put_file(run / "metrics.jsonl", fz::part(parts, 0));
  fz::put_file(run / "config.json", fz::part(parts, 1));
  fz::put_file(run / "command.json", fz::part(parts, 2));
  fz::put_file(run / "job.json", fz::part(parts, 3));
  fz::put_file(run / "train.log", fz::part(parts, 4));

  db::RunCatalog catalog(fz::scratch_dir());
  const db::RunSnapshot snapshot = catalog.snapshot("run");
  nlohmann::json views = {db::run_detail("run", snapshot, 0.0), db::compare_runs({"run", "run"}, {snapshot, snapshot})};
  const db::MachineProfile machine{.cores = 2, .memory_mb = 1024.0, .isa = "avx2", .gemm_gflops_fp32 = 100.0};
  const db::RunInputs inputs = db::read_run_inputs(run);
  for (const db::Suggestion& suggestion : db::advise(inputs.series, inputs.config, inputs.command, machine))
    views.push_back(db::to_json(suggestion));
  const std::string wire = views.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (wire.empty()) fz::broken("a view could not be written");
  return 0;
}
