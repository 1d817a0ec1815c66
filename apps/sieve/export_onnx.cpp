// `sieve export --format onnx`: convert_onnx::export_onnx with a summary line.
#include <cstdio>
#include <filesystem>

#include "apps/sieve/bench_common.h"
#include "apps/sieve/conversion_formats.h"
#include "sieve/convert_onnx/onnx_export.h"
#include "sieve/core/error.h"

namespace sieve::apps {

void export_onnx(const ExportRequest& request) {
  SIEVE_USER_CHECK(request.type.empty(),
                   "--type is for --format gguf; --format onnx writes the model's own weights (f32, or INT8 as QDQ)");
  const auto start = BenchClock::now();
  const convert_onnx::OnnxExportSummary summary = convert_onnx::export_onnx(request.model_dir, request.out);
  for (const std::string& note : summary.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
  std::printf("exported %s to %s (prefill) and %s (KV-cached decoding), ONNX opset 17: %.1f MB of weights in %.1f s\n",
              request.model_dir.c_str(), summary.files[0].c_str(), summary.files[1].c_str(),
              static_cast<double>(summary.weight_bytes) / 1e6, ms_since(start) / 1000.0);
}

}  // namespace sieve::apps
