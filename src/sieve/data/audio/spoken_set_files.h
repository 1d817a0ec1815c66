// The files of a spoken set (the format is in spoken_set.h): the writers the build streams clips
// into, and the pieces load_spoken_set and the cache check share.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string_view>

#include "sieve/core/atomic_file.h"
#include "sieve/data/audio/spoken_set.h"
#include "sieve/data/audio/spoken_voices.h"

namespace sieve::data::audio {

inline constexpr std::uint32_t kSpokenSetFormat = 1;
inline constexpr std::size_t kSpokenHeaderBytes = 32;
inline constexpr std::size_t kClipRecordBytes = 40;
inline constexpr std::string_view kClipsMagic = "SIEVECLP";
inline constexpr std::string_view kLogMelMagic = "SIEVEMEL";
inline constexpr std::uint32_t kDtypeF32 = 1;

inline std::filesystem::path spoken_set_dir(const std::filesystem::path& data_dir) { return data_dir / "audio"; }

// FNV-1a over a file's bytes: tells the set's utterance list apart from another one.
std::uint64_t file_fingerprint(const std::filesystem::path& path);

nlohmann::json log_mel_options_json(const LogMelOptions& options);
LogMelOptions log_mel_options_from_json(const nlohmann::json& json, const std::string& where);

// manifest.json of a set, or null when there is none.
nlohmann::json read_manifest(const std::filesystem::path& data_dir);

// log_mel.bin, written as clips arrive; nothing is visible until commit().
class LogMelWriter {
 public:
  LogMelWriter(const std::filesystem::path& path, int n_mels);
  void append(std::span<const float> features);  // whole frames
  std::int64_t rows() const { return rows_; }
  void commit();

 private:
  core::AtomicFileWriter file_;
  int n_mels_;
  std::int64_t rows_ = 0;
};

// clips.bin, the same way.
class ClipWriter {
 public:
  explicit ClipWriter(const std::filesystem::path& path);
  void append(const SpokenClip& clip);
  void commit(std::int64_t total_frames);

 private:
  core::AtomicFileWriter file_;
  std::int64_t count_ = 0;
};

void write_voices(const std::filesystem::path& path, const VoicePools& pools);

}  // namespace sieve::data::audio
