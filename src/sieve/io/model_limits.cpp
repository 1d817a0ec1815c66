#include "sieve/io/model_limits.h"

#include <unistd.h>

#include <array>
#include <atomic>

#include "sieve/core/error.h"
#include "sieve/io/model_layout.h"
#include "sieve/io/trimodal_layout.h"

namespace sieve::io {
namespace {

std::atomic<std::uint64_t> g_max_model_bytes{0};  // 0: the default

}  // namespace

std::string human_bytes(std::uint64_t bytes) {
  constexpr std::array<const char*, 7> kUnits = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  auto value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < kUnits.size()) {
    value /= 1024.0;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
}

std::uint64_t max_model_bytes() {
  const std::uint64_t set = g_max_model_bytes.load();
  return set != 0 ? set : physical_memory_bytes();
}

void set_max_model_bytes(std::uint64_t bytes) { g_max_model_bytes.store(bytes); }

void check_bytes_fit(std::int64_t bytes, std::string_view source, std::string_view makeup) {
  const std::uint64_t limit = max_model_bytes();
  if (limit == 0 || static_cast<std::uint64_t>(bytes) <= limit) return;
  core::throw_user_error(
      "{}: the model would take {} ({}), more than the {} limit ({}); check those fields, or give "
      "--max-model-bytes to change the limit",
      source, human_bytes(static_cast<std::uint64_t>(bytes)), makeup, human_bytes(limit),
      g_max_model_bytes.load() != 0 ? "set for this run" : "this machine's physical memory");
}

namespace {

void check_footprint_fits(const ModelFootprint& footprint, std::string_view source) {
  const TensorSpec& largest = footprint.largest;
  check_bytes_fit(footprint.bytes, source,
                  fmt::format("{} parameters as f32; its largest tensor, {} {}, is {}", footprint.parameters,
                              largest.name, core::shape_string(largest.shape), largest.fields));
}

}  // namespace

void check_model_fits(const nn::LlamaConfig& config, std::string_view source) {
  check_footprint_fits(llama_footprint(config, source), source);
}

void check_model_fits(const nn::TriModalConfig& config, std::string_view source) {
  check_footprint_fits(trimodal_footprint(config, source), source);
}

}  // namespace sieve::io
