#include "sieve/train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "sieve/core/atomic_file.h"
#include "sieve/io/safetensors.h"

namespace sieve::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kModelFile = "model.safetensors";
constexpr const char* kOptimizerFile = "optimizer.safetensors";
constexpr const char* kStateFile = "state.json";

std::string step_name(std::int64_t step) { return fmt::format("step-{:08d}", step); }

// "step-" followed by at least 8 digits (step_name's format); anything else is not ours.
std::optional<std::int64_t> parse_step(const fs::path& dir) {
  const std::string name = dir.filename().string();
  constexpr std::string_view prefix = "step-";
  if (name.size() < prefix.size() + 8 || name.size() > prefix.size() + 18 || !name.starts_with(prefix))
    return std::nullopt;
  const std::string digits = name.substr(prefix.size());
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  return std::stoll(digits);
}

std::vector<std::pair<std::int64_t, fs::path>> complete_checkpoints(const fs::path& checkpoints_dir) {
  std::vector<std::pair<std::int64_t, fs::path>> found;
  if (!fs::is_directory(checkpoints_dir)) return found;
  for (const auto& entry : fs::directory_iterator(checkpoints_dir)) {
    if (!entry.is_directory()) continue;
    if (auto step = parse_step(entry.path()); step && fs::exists(entry.path() / kStateFile))
      found.emplace_back(*step, entry.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

void fsync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

nn::NamedTensors read_all(const fs::path& file) {
  nn::NamedTensors out;
  for (auto& [name, tensor] : io::load_safetensors(file)) out.emplace_back(name, tensor);
  return out;
}

}  // namespace

fs::path save_checkpoint(const fs::path& checkpoints_dir, const CheckpointContents& contents, int keep_last) {
  fs::create_directories(checkpoints_dir);
  const fs::path final_dir = checkpoints_dir / step_name(contents.step);
  const fs::path partial = checkpoints_dir / (step_name(contents.step) + ".partial");
  fs::remove_all(partial);
  fs::create_directories(partial);
  io::save_safetensors(partial / kModelFile, contents.model);
  io::save_safetensors(partial / kOptimizerFile, contents.optimizer);
  nlohmann::json state = contents.state;
  state["step"] = contents.step;
  core::write_file_atomically(partial / kStateFile, state.dump(2) + "\n");
  fsync_directory(partial);
  fs::remove_all(final_dir);  // an older checkpoint of the same step (a rerun) is replaced
  fs::rename(partial, final_dir);
  fsync_directory(checkpoints_dir);

  if (keep_last > 0) {
    auto all = complete_checkpoints(checkpoints_dir);
    const auto excess = static_cast<std::ptrdiff_t>(all.size()) - keep_last;
    for (std::ptrdiff_t i = 0; i < excess; ++i) fs::remove_all(all[static_cast<std::size_t>(i)].second);
  }
  return final_dir;
}

std::optional<fs::path> latest_checkpoint(const fs::path& checkpoints_dir) {
  auto all = complete_checkpoints(checkpoints_dir);
  if (all.empty()) return std::nullopt;
  return all.back().second;
}

CheckpointContents load_checkpoint(const fs::path& checkpoint_dir) {
  const fs::path state_file = checkpoint_dir / kStateFile;
  std::ifstream in(state_file);
  SIEVE_USER_CHECK(in.good(), "checkpoint '{}' has no {}", checkpoint_dir.string(), kStateFile);
  CheckpointContents contents;
  try {
    contents.state = nlohmann::json::parse(in);
    contents.step = contents.state.at("step").get<std::int64_t>();
  } catch (const nlohmann::json::exception& e) {
    core::throw_user_error("checkpoint state {} is malformed: {}", state_file.string(), e.what());
  }
  contents.model = read_all(checkpoint_dir / kModelFile);
  contents.optimizer = read_all(checkpoint_dir / kOptimizerFile);
  return contents;
}

}  // namespace sieve::train
