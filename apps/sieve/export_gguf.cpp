// `sieve export --format gguf`: convert_gguf::export_gguf with a summary line.
#include <cstdio>
#include <filesystem>

#include "apps/sieve/bench_common.h"
#include "apps/sieve/conversion_formats.h"
#include "sieve/convert_gguf/gguf_export.h"
#include "sieve/core/error.h"

namespace sieve::apps {

void export_gguf(const ExportRequest& request) {
  const auto type = convert_gguf::gguf_export_type_from_name(request.type.empty() ? "f32" : request.type);
  const auto start = BenchClock::now();
  const convert_gguf::GgufExportSummary summary = convert_gguf::export_gguf(request.model_dir, request.out, type);
  for (const std::string& note : summary.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
  std::string tensors;
  for (const auto& [name, count] : summary.tensors_by_type)
    tensors += (tensors.empty() ? "" : ", ") + std::to_string(count) + " " + name;
  std::printf("exported %s to %s (GGUF, llama architecture): %s tensors, %.1f MB in %.1f s\n",
              request.model_dir.c_str(), request.out.c_str(), tensors.c_str(),
              static_cast<double>(summary.file_bytes) / (1 << 20), ms_since(start) / 1000.0);
}

}  // namespace sieve::apps
