// WAV files: read any PCM WAV as mono float samples, write 16-bit PCM mono.
//
// A hand-written RIFF parser rather than libsndfile: Sieve reads one container with five sample
// encodings, and wants every size checked strictly — libsndfile accepts a data chunk that runs
// past the end of the file (a truncated file, or one streamed to a pipe without its sizes fixed)
// and quietly reads what is there, and it brings dozens of formats Sieve does not want to accept.
// The parser is ~200 lines, has no dependency, and is fuzzed with coverage (tests/fuzz/fuzz_wav).
//
// Accepted: a RIFF/WAVE file with one "fmt " and one "data" chunk (any other chunks are skipped),
// format tag 1 (integer PCM: 8-bit unsigned, 16/24/32-bit signed), 3 (32-bit IEEE float) or
// WAVE_FORMAT_EXTENSIBLE with one of those two sub-formats; any channel count (averaged to mono)
// and any sample rate. Every size is checked against the bytes present before anything is
// allocated; anything else is a core::UserError naming the file and what is wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace sieve::data::audio {

// Mono audio: samples in [-1, 1] at sample_rate Hz.
struct Waveform {
  std::vector<float> samples;
  int sample_rate = 0;
};

// The largest WAV file read_wav accepts (2 GiB): larger is refused before it is read.
inline constexpr std::uintmax_t kMaxWavFileBytes = std::uintmax_t{1} << 31;

// Decodes the bytes of a WAV file; `name` names it in errors. Channels are averaged; integer
// samples are scaled by 2^-(bits-1) (8-bit is unsigned with 128 as zero); float samples are
// clamped to [-1, 1] and must be finite.
Waveform parse_wav(std::span<const std::byte> bytes, const std::string& name);

// Reads and decodes a WAV file (parse_wav); a missing or unreadable file is a core::UserError.
Waveform read_wav(const std::filesystem::path& path);

// The bytes of a 16-bit PCM mono WAV file holding `wave` (samples clamped to [-1, 1], rounded to
// the nearest of the 65536 levels).
std::vector<std::byte> encode_wav(const Waveform& wave);

// Writes encode_wav(wave) to `path` atomically (core/atomic_file.h).
void write_wav(const std::filesystem::path& path, const Waveform& wave);

}  // namespace sieve::data::audio
