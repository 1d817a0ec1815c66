#include "sieve/train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <limits>

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

constexpr int kMaxStateDepth = 8;
constexpr std::int64_t kMaxInt64 = std::numeric_limits<std::int64_t>::max();

// Checks the keys of one object of a state.json; messages name the file and the key path.
class StateReader {
 public:
  StateReader(const nlohmann::json& object, std::string_view source, std::string prefix)
      : object_(object), source_(source), prefix_(std::move(prefix)) {}

  const nlohmann::json* find(const char* key) const {
    const auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }

  void check(bool ok, const char* key, std::string_view expected) const {
    SIEVE_USER_CHECK(ok, "checkpoint state {}: '{}{}': {}", source_, prefix_, key, expected);
  }

  // An integer in [min, max] (absent is fine unless `required`).
  void integer(const char* key, std::int64_t min, std::int64_t max, bool required) const {
    const nlohmann::json* value = find(key);
    if (value == nullptr && !required) return;
    const bool ok = value != nullptr && value->is_number_integer() &&
                    (value->is_number_unsigned()
                         ? value->get<std::uint64_t>() <= static_cast<std::uint64_t>(max) &&
                               (min <= 0 || value->get<std::uint64_t>() >= static_cast<std::uint64_t>(min))
                         : value->get<std::int64_t>() >= min && value->get<std::int64_t>() <= max);
    check(ok, key, fmt::format("expected an integer in [{}, {}]", min, max));
  }

  // The object under `key`, or null when absent; anything else is an error.
  const nlohmann::json* object(const char* key) const {
    const nlohmann::json* value = find(key);
    if (value != nullptr) check(value->is_object(), key, "expected an object");
    return value;
  }

 private:
  const nlohmann::json& object_;
  std::string_view source_;
  std::string prefix_;
};

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
  std::error_code error;
  const auto size = fs::file_size(state_file, error);
  SIEVE_USER_CHECK(!error, "checkpoint '{}' has no readable {}: {}", checkpoint_dir.string(), kStateFile,
                   error.message());
  SIEVE_USER_CHECK(size <= kMaxCheckpointStateBytes, "checkpoint state {} has {} bytes; a state.json has at most {}",
                   state_file.string(), size, kMaxCheckpointStateBytes);
  std::ifstream in(state_file, std::ios::binary);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  SIEVE_USER_CHECK(!in.bad(), "cannot read checkpoint state {}", state_file.string());
  CheckpointContents contents;
  contents.state = parse_checkpoint_state(text, state_file.string());
  contents.step = contents.state.at("step").get<std::int64_t>();
  contents.model = read_all(checkpoint_dir / kModelFile);
  contents.optimizer = read_all(checkpoint_dir / kOptimizerFile);
  return contents;
}

nlohmann::json parse_checkpoint_state(std::string_view text, std::string_view source) {
  using nlohmann::json;
  SIEVE_USER_CHECK(text.size() <= kMaxCheckpointStateBytes, "checkpoint state {} has {} bytes; a state.json has at most {}",
                   source, text.size(), kMaxCheckpointStateBytes);
  json state;
  try {
    state = json::parse(text.begin(), text.end(), [&](int depth, json::parse_event_t event, json&) {
      if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
          depth >= kMaxStateDepth)
        core::throw_user_error("checkpoint state {} is malformed: JSON nested more than {} levels deep", source,
                               kMaxStateDepth);
      return true;
    });
  } catch (const json::exception& e) {
    core::throw_user_error("checkpoint state {} is malformed: {}", source, e.what());
  }
  SIEVE_USER_CHECK(state.is_object(), "checkpoint state {} is malformed: expected a JSON object, got {}", source,
                   state.type_name());
  const StateReader top(state, source, "");
  top.integer("step", 0, kMaxInt64, true);
  top.integer("optimizer_steps", 0, kMaxInt64, false);
  if (const json* loader = top.object("loader")) {
    const StateReader reader(*loader, source, "loader.");
    const json* rng = reader.find("rng");
    reader.check(rng != nullptr && rng->is_array() && rng->size() == 4 &&
                     std::all_of(rng->begin(), rng->end(), [](const json& word) { return word.is_number_unsigned(); }),
                 "rng", "expected four unsigned 64-bit integers");
    reader.check(std::any_of(rng->begin(), rng->end(), [](const json& word) { return word.get<std::uint64_t>() != 0; }),
                 "rng", "an all-zero generator state never leaves zero");
    reader.integer("batches", 0, kMaxInt64, true);
  }
  if (const json* scaler = top.object("loss_scaler")) {
    const StateReader reader(*scaler, source, "loss_scaler.");
    const json* scale = reader.find("scale");
    // Read as f32 by the trainer: it must stay finite and above 0 there too.
    const bool positive_f32 = scale != nullptr && scale->is_number() &&
                              scale->get<double>() <= std::numeric_limits<float>::max() &&
                              static_cast<float>(scale->get<double>()) > 0.0f;
    reader.check(positive_f32, "scale", "expected a finite number > 0 (as f32)");
    for (const char* key : {"growth_tracker", "skipped_steps", "applied_steps"}) reader.integer(key, 0, kMaxInt64, true);
    reader.integer("hysteresis_left", 1, std::numeric_limits<int>::max(), true);
  }
  return state;
}

}  // namespace sieve::train
