// libFuzzer target: a `sieve serve` instance's /metrics as the dashboard's serving view reads it
// (serving/prometheus_text.h, serving_snapshot.h) — text from the network. A core::UserError is
// the expected answer to bad text; what is accepted must give a snapshot whose views can be
// written as JSON.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "apps/dashboard/serving/prometheus_text.h"
#include "apps/dashboard/serving/serving_snapshot.h"
#include "fuzz_inputs.h"
#include "sieve/core/error.h"

namespace fz = sieve::fuzz;
namespace db = sieve::dashboard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<db::PrometheusSample> samples;
  try {
    samples = db::parse_prometheus_text(text);
  } catch (const sieve::core::UserError&) {
    return 0;
  }
  const db::ServingSnapshot before = db::serving_snapshot(samples, 1.0);
  const db::ServingSnapshot after = db::serving_snapshot(samples, 3.0);
  const nlohmann::json views = {db::snapshot_json(after), db::history_point(before, after)};
  if (views.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).empty()) fz::broken("a view is empty");
  return 0;
}
