#include "sieve/data/audio/spoken_set_files.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "sieve/core/checked_math.h"
#include "sieve/core/error.h"

namespace sieve::data::audio {

static_assert(std::endian::native == std::endian::little,
              "spoken sets are little-endian; a big-endian host needs byte swaps here");

namespace fs = std::filesystem;

namespace {

template <typename T>
void put(std::byte* at, T value) {
  std::memcpy(at, &value, sizeof(T));
}

template <typename T>
T get(const std::byte* at) {
  T value;
  std::memcpy(&value, at, sizeof(T));
  return value;
}

std::array<std::byte, kSpokenHeaderBytes> header(std::string_view magic, std::uint32_t word, std::uint64_t a,
                                                 std::uint64_t b) {
  std::array<std::byte, kSpokenHeaderBytes> bytes{};
  std::memcpy(bytes.data(), magic.data(), 8);
  put<std::uint32_t>(bytes.data() + 8, kSpokenSetFormat);
  put<std::uint32_t>(bytes.data() + 12, word);
  put<std::uint64_t>(bytes.data() + 16, a);
  put<std::uint64_t>(bytes.data() + 24, b);
  return bytes;
}

// A read-only mapping of a whole file, unmapped when the last owner lets go.
struct Mapping {
  void* address = nullptr;
  std::size_t bytes = 0;
  ~Mapping() {
    if (address != nullptr) ::munmap(address, bytes);
  }
};

std::shared_ptr<Mapping> map_file(const fs::path& path) {
  const std::string name = path.string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  SIEVE_USER_CHECK(fd >= 0, "cannot open '{}': {}", name, std::strerror(errno));
  struct stat st {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  auto mapping = std::make_shared<Mapping>();
  if (regular && st.st_size > 0) {
    mapping->bytes = static_cast<std::size_t>(st.st_size);
    void* address = ::mmap(nullptr, mapping->bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    mapping->address = address == MAP_FAILED ? nullptr : address;
  }
  ::close(fd);
  SIEVE_USER_CHECK(regular, "'{}' is not a regular file", name);
  SIEVE_USER_CHECK(mapping->bytes == 0 || mapping->address != nullptr, "cannot memory-map '{}'", name);
  return mapping;
}

// Checks the common header; returns the word at 12 and the two counts.
struct Header {
  std::uint32_t word = 0;
  std::uint64_t a = 0, b = 0;
};

Header read_header(const Mapping& file, std::string_view magic, const std::string& name) {
  const auto* bytes = static_cast<const std::byte*>(file.address);
  SIEVE_USER_CHECK(file.bytes >= kSpokenHeaderBytes && std::memcmp(bytes, magic.data(), 8) == 0,
                   "'{}' is not a spoken-set file (expected the magic \"{}\" and a {}-byte header)", name, magic,
                   kSpokenHeaderBytes);
  const auto version = get<std::uint32_t>(bytes + 8);
  SIEVE_USER_CHECK(version == kSpokenSetFormat, "'{}' has format version {} (this build reads {}); build the data again",
                   name, version, kSpokenSetFormat);
  return {get<std::uint32_t>(bytes + 12), get<std::uint64_t>(bytes + 16), get<std::uint64_t>(bytes + 24)};
}

[[noreturn]] void damaged_clip(const std::string& file, std::size_t clip, const std::string& what) {
  core::throw_user_error("'{}' is damaged: clip {} {}", file, clip, what);
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  SIEVE_USER_CHECK(in.good(), "cannot read '{}'", path.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    core::throw_user_error("'{}' is not valid JSON: {}", path.string(), e.what());
  }
}

std::vector<SpokenVoice> parse_voices(const nlohmann::json& json, std::vector<std::string>& held_out,
                                      const std::string& name) {
  try {
    SIEVE_USER_CHECK(json.at("format").get<int>() == static_cast<int>(kSpokenSetFormat),
                     "'{}' has another format version; build the data again", name);
    held_out = json.at("held_out_variants").get<std::vector<std::string>>();
    std::vector<SpokenVoice> voices;
    for (const auto& v : json.at("voices")) {
      SIEVE_USER_CHECK(v.at("id").get<std::size_t>() == voices.size(), "'{}': voice ids must be 0, 1, 2, ... in order",
                       name);
      SpokenVoice voice;
      voice.voice.engine = parse_engine(v.at("engine").get<std::string>());
      voice.voice.accent = v.at("accent").get<std::string>();
      voice.voice.variant = v.at("variant").get<std::string>();
      voice.voice.speed = v.at("speed").get<int>();
      voice.voice.pitch = v.at("pitch").get<int>();
      validate_voice(voice.voice);
      const std::string split = v.at("split").get<std::string>();
      if (split == "train") {
        voice.split = ClipSplit::train;
      } else if (split == "test") {
        voice.split = ClipSplit::test;
      } else {
        SIEVE_USER_CHECK(split == "test_festival", "'{}': voice {} has an unknown split \"{}\"", name, voices.size(),
                         split);
        voice.split = ClipSplit::test_festival;
      }
      voices.push_back(std::move(voice));
    }
    return voices;
  } catch (const nlohmann::json::exception& e) {
    core::throw_user_error("'{}' is damaged: {}", name, e.what());
  }
}

}  // namespace

std::uint64_t file_fingerprint(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  SIEVE_USER_CHECK(in.good(), "cannot read '{}'", path.string());
  std::uint64_t hash = 14695981039346656037ull;
  std::array<char, 65536> buffer;
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      hash ^= static_cast<unsigned char>(buffer[static_cast<std::size_t>(i)]);
      hash *= 1099511628211ull;
    }
  }
  return hash;
}

nlohmann::json log_mel_options_json(const LogMelOptions& o) {
  return {{"sample_rate", o.sample_rate}, {"n_fft", o.n_fft}, {"hop_length", o.hop_length}, {"n_mels", o.n_mels},
          {"f_min", o.f_min},             {"f_max", o.f_max}, {"log_offset", o.log_offset}, {"mel_scale", "htk"},
          {"window", "hann"},             {"center", "reflect"}, {"power", 2}};
}

LogMelOptions log_mel_options_from_json(const nlohmann::json& json, const std::string& where) {
  try {
    LogMelOptions o;
    o.sample_rate = json.at("sample_rate").get<int>();
    o.n_fft = json.at("n_fft").get<int>();
    o.hop_length = json.at("hop_length").get<int>();
    o.n_mels = json.at("n_mels").get<int>();
    o.f_min = json.at("f_min").get<double>();
    o.f_max = json.at("f_max").get<double>();
    o.log_offset = json.at("log_offset").get<double>();
    return o;
  } catch (const nlohmann::json::exception& e) {
    core::throw_user_error("{}: bad feature settings: {}", where, e.what());
  }
}

nlohmann::json read_manifest(const fs::path& data_dir) {
  const fs::path path = spoken_set_dir(data_dir) / "manifest.json";
  std::error_code error;
  if (!fs::exists(path, error)) return nullptr;
  return read_json(path);
}

// --- writers ----------------------------------------------------------------------------------

LogMelWriter::LogMelWriter(const fs::path& path, int n_mels) : file_(path), n_mels_(n_mels) {
  file_.write(header(kLogMelMagic, 0, 0, 0));  // rewritten by commit()
}

void LogMelWriter::append(std::span<const float> features) {
  SIEVE_CHECK(features.size() % static_cast<std::size_t>(n_mels_) == 0, "{} values are not whole frames of {}",
              features.size(), n_mels_);
  file_.write(std::as_bytes(features));
  rows_ += static_cast<std::int64_t>(features.size() / n_mels_);
}

void LogMelWriter::commit() {
  // u32 dtype, u64 rows, then u32 columns and u32 0 as the second u64.
  file_.write_at(0, header(kLogMelMagic, kDtypeF32, static_cast<std::uint64_t>(rows_),
                           static_cast<std::uint64_t>(static_cast<std::uint32_t>(n_mels_))));
  file_.commit();
}

ClipWriter::ClipWriter(const fs::path& path) : file_(path) { file_.write(header(kClipsMagic, 0, 0, 0)); }

void ClipWriter::append(const SpokenClip& clip) {
  std::array<std::byte, kClipRecordBytes> r{};
  put<std::int64_t>(r.data(), clip.utterance_id);
  put<std::uint64_t>(r.data() + 8, static_cast<std::uint64_t>(clip.first_frame));
  put<std::uint32_t>(r.data() + 16, static_cast<std::uint32_t>(clip.frames));
  put<std::uint32_t>(r.data() + 20, static_cast<std::uint32_t>(clip.samples));
  put<std::uint32_t>(r.data() + 24, static_cast<std::uint32_t>(clip.voice));
  put<std::uint8_t>(r.data() + 28, static_cast<std::uint8_t>(clip.split));
  put<std::uint8_t>(r.data() + 29, static_cast<std::uint8_t>(clip.kind));
  put<std::uint8_t>(r.data() + 30, clip.noisy ? 1 : 0);
  put<float>(r.data() + 32, clip.snr_db);
  file_.write(r);
  ++count_;
}

void ClipWriter::commit(std::int64_t total_frames) {
  file_.write_at(0, header(kClipsMagic, static_cast<std::uint32_t>(kClipRecordBytes), static_cast<std::uint64_t>(count_),
                           static_cast<std::uint64_t>(total_frames)));
  file_.commit();
}

void write_voices(const fs::path& path, const VoicePools& pools) {
  nlohmann::json voices = nlohmann::json::array();
  for (std::size_t i = 0; i < pools.voices.size(); ++i) {
    const SpokenVoice& v = pools.voices[i];
    voices.push_back({{"id", i},
                      {"name", voice_name(v.voice)},
                      {"engine", engine_name(v.voice.engine)},
                      {"accent", v.voice.accent},
                      {"variant", v.voice.variant},
                      {"speed", v.voice.speed},
                      {"pitch", v.voice.pitch},
                      {"split", clip_split_name(v.split)}});
  }
  const nlohmann::json json = {
      {"format", kSpokenSetFormat}, {"held_out_variants", pools.held_out_variants}, {"voices", voices}};
  core::write_file_atomically(path, json.dump(1) + "\n");
}

// --- the reader -------------------------------------------------------------------------------

std::span<const float> SpokenSet::features(std::size_t clip) const {
  SIEVE_CHECK(clip < clips.size(), "clip {} of {}", clip, clips.size());
  const SpokenClip& c = clips[clip];
  return {log_mel + c.first_frame * n_mels(), static_cast<std::size_t>(c.frames) * n_mels()};
}

SpokenSet load_spoken_set(const fs::path& data_dir) {
  const fs::path dir = spoken_set_dir(data_dir);
  const nlohmann::json manifest = read_manifest(data_dir);
  SIEVE_USER_CHECK(!manifest.is_null(), "'{}' holds no finished spoken set (no manifest.json): build the data first",
                   dir.string());
  const std::string manifest_name = (dir / "manifest.json").string();
  SpokenSet set;
  std::uint64_t fingerprint = 0;
  try {
    SIEVE_USER_CHECK(manifest.at("format").get<int>() == static_cast<int>(kSpokenSetFormat),
                     "'{}' has another format version; build the data again", manifest_name);
    set.features_options = log_mel_options_from_json(manifest.at("features"), manifest_name);
    fingerprint = std::stoull(manifest.at("build_key").at("utterances_fnv1a").get<std::string>(), nullptr, 16);
  } catch (const nlohmann::json::exception& e) {
    core::throw_user_error("'{}' is damaged: {}", manifest_name, e.what());
  } catch (const std::logic_error&) {
    core::throw_user_error("'{}' is damaged: a bad utterances_fnv1a", manifest_name);
  }
  const LogMel log_mel(set.features_options);  // validates the settings; frame counts below
  const int M = set.n_mels();

  const fs::path utterance_path = data_dir / "utterances.jsonl";
  const std::vector<Utterance> utterances = read_utterances(utterance_path);
  SIEVE_USER_CHECK(file_fingerprint(utterance_path) == fingerprint,
                   "the audio in '{}' was built from another '{}': build the data again", dir.string(),
                   utterance_path.string());
  std::unordered_map<std::int64_t, UtteranceKind> kinds;
  for (const Utterance& u : utterances) kinds[u.id] = u.kind;

  const std::string voices_name = (dir / "voices.json").string();
  set.voices = parse_voices(read_json(dir / "voices.json"), set.held_out_variants, voices_name);

  // clips.bin: header and size before any record is read.
  const std::string clips_name = (dir / "clips.bin").string();
  const auto clips_file = map_file(dir / "clips.bin");
  const Header ch = read_header(*clips_file, kClipsMagic, clips_name);
  SIEVE_USER_CHECK(ch.word == kClipRecordBytes, "'{}' is damaged: {}-byte records ({} expected)", clips_name, ch.word,
                   kClipRecordBytes);
  const std::uint64_t record_bytes = clips_file->bytes - kSpokenHeaderBytes;
  SIEVE_USER_CHECK(ch.a <= record_bytes / kClipRecordBytes && ch.a * kClipRecordBytes == record_bytes,
                   "'{}' is truncated or damaged: its header promises {} clips but it holds {} bytes of records",
                   clips_name, ch.a, record_bytes);
  const auto* records = static_cast<const std::byte*>(clips_file->address) + kSpokenHeaderBytes;
  set.clips.resize(ch.a);
  std::int64_t next_frame = 0;
  for (std::size_t i = 0; i < set.clips.size(); ++i) {
    const std::byte* r = records + i * kClipRecordBytes;
    SpokenClip& c = set.clips[i];
    const auto bad = [&](const std::string& what) { damaged_clip(clips_name, i, what); };
    c.utterance_id = get<std::int64_t>(r);
    const auto first = get<std::uint64_t>(r + 8);
    const auto frames = get<std::uint32_t>(r + 16);
    const auto samples = get<std::uint32_t>(r + 20);
    const auto voice = get<std::uint32_t>(r + 24);
    const auto split = get<std::uint8_t>(r + 28);
    const auto kind = get<std::uint8_t>(r + 29);
    const auto noisy = get<std::uint8_t>(r + 30);
    c.snr_db = get<float>(r + 32);
    if (first != static_cast<std::uint64_t>(next_frame)) bad(fmt::format("starts at frame {}, not {}", first, next_frame));
    if (samples < static_cast<std::uint32_t>(log_mel.min_samples()) || samples > (1u << 30) ||
        frames != static_cast<std::uint64_t>(log_mel.frame_count(samples)))
      bad(fmt::format("has {} frames for {} samples", frames, samples));
    if (voice >= set.voices.size()) bad(fmt::format("has voice {} of {}", voice, set.voices.size()));
    if (split > 2 || static_cast<ClipSplit>(split) != set.voices[voice].split)
      bad(fmt::format("has split {}, its voice's split is {}", split, clip_split_name(set.voices[voice].split)));
    const auto utterance = kinds.find(c.utterance_id);
    if (utterance == kinds.end()) bad(fmt::format("is of utterance {}, which utterances.jsonl lacks", c.utterance_id));
    if (kind != static_cast<std::uint8_t>(utterance->second)) bad(fmt::format("has kind {}", kind));
    if (noisy > 1 || !std::isfinite(c.snr_db) || (noisy == 0 && c.snr_db != 0.0f))
      bad(fmt::format("has noise flag {} and SNR {}", noisy, c.snr_db));
    c.first_frame = next_frame;
    c.frames = static_cast<std::int32_t>(frames);
    c.samples = static_cast<std::int32_t>(samples);
    c.voice = static_cast<std::int32_t>(voice);
    c.split = static_cast<ClipSplit>(split);
    c.kind = static_cast<UtteranceKind>(kind);
    c.noisy = noisy == 1;
    next_frame += frames;
  }
  SIEVE_USER_CHECK(ch.b == static_cast<std::uint64_t>(next_frame),
                   "'{}' is damaged: its header says {} frames, its clips have {}", clips_name, ch.b, next_frame);
  set.total_frames = next_frame;

  // log_mel.bin: header, then size = header + rows x columns x 4, before the features are used.
  const std::string features_name = (dir / "log_mel.bin").string();
  auto features_file = map_file(dir / "log_mel.bin");
  const Header fh = read_header(*features_file, kLogMelMagic, features_name);
  SIEVE_USER_CHECK(fh.word == kDtypeF32, "'{}' has dtype code {} (1, f32, expected)", features_name, fh.word);
  const std::uint64_t columns = fh.b;
  SIEVE_USER_CHECK(columns == static_cast<std::uint64_t>(M) && fh.a == static_cast<std::uint64_t>(next_frame),
                   "'{}' holds [{}, {}] features; the clips and settings need [{}, {}]", features_name, fh.a, columns,
                   next_frame, M);
  const auto values = core::checked_mul<std::uint64_t>(fh.a, columns);
  const auto payload = values ? core::checked_mul<std::uint64_t>(*values, 4) : std::nullopt;
  SIEVE_USER_CHECK(payload && *payload == features_file->bytes - kSpokenHeaderBytes,
                   "'{}' is truncated or damaged: [{}, {}] f32 features need {} bytes after the header, it has {}",
                   features_name, fh.a, columns, payload.value_or(0), features_file->bytes - kSpokenHeaderBytes);
  set.log_mel = reinterpret_cast<const float*>(static_cast<const std::byte*>(features_file->address) + kSpokenHeaderBytes);
  for (std::uint64_t i = 0; i < *values; ++i)
    SIEVE_USER_CHECK(std::isfinite(set.log_mel[i]), "'{}' is damaged: feature value {} is not finite", features_name, i);
  set.mapping = std::move(features_file);
  return set;
}

}  // namespace sieve::data::audio
