#include "apps/dashboard/runs/run_json.h"

#include <fstream>

namespace sieve::dashboard {

nlohmann::json read_run_json(const std::filesystem::path& file) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error)) return nullptr;
  const std::uintmax_t size = std::filesystem::file_size(file, error);
  if (error || size > kMaxRunJsonBytes) return nullptr;
  std::ifstream in(file, std::ios::binary);
  std::string text(size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  text.resize(static_cast<std::size_t>(in.gcount()));
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return value.is_discarded() ? nlohmann::json(nullptr) : value;
}

}  // namespace sieve::dashboard
