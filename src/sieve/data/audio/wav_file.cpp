#include "sieve/data/audio/wav_file.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>
#include <string_view>

#include "sieve/core/atomic_file.h"
#include "sieve/core/error.h"

namespace sieve::data::audio {

static_assert(std::endian::native == std::endian::little,
              "WAV files are little-endian; a big-endian host needs byte swaps here");

namespace {

constexpr std::uint16_t kFormatPcm = 1;
constexpr std::uint16_t kFormatFloat = 3;
constexpr std::uint16_t kFormatExtensible = 0xFFFE;
constexpr std::uint32_t kMaxSampleRate = 1'000'000;
// Bytes 2..15 of every KSDATAFORMAT_SUBTYPE_* GUID (0000xxxx-0000-0010-8000-00aa00389b71, the
// first two bytes being the format tag), as stored in a WAVE_FORMAT_EXTENSIBLE fmt chunk.
constexpr std::array<unsigned char, 14> kSubformatTail = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                                          0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};
constexpr std::string_view kPipeHint =
    " (truncated, or written to a pipe without its sizes fixed: `sox in.wav out.wav` rewrites it)";

std::uint16_t load_u16(const std::byte* p) {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

std::uint32_t load_u32(const std::byte* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

std::string_view chunk_id(const std::byte* p) { return {reinterpret_cast<const char*>(p), 4}; }

// A chunk id for a message: printable ASCII as is, anything else in hex.
std::string printable_id(const std::byte* p) {
  std::string out;
  for (int i = 0; i < 4; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    out += (c >= 0x20 && c < 0x7f) ? std::string(1, static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
  }
  return out;
}

std::string codec_name(std::uint16_t tag) {
  switch (tag) {
    case 0x0002: return "Microsoft ADPCM";
    case 0x0006: return "A-law";
    case 0x0007: return "mu-law";
    case 0x0011: return "IMA ADPCM";
    case 0x0031: return "GSM 6.10";
    case 0x0055: return "MPEG layer 3";
    default: return fmt::format("format tag 0x{:04x}", tag);
  }
}

struct Format {
  std::uint16_t tag = 0;  // kFormatPcm or kFormatFloat once the extensible form is resolved
  std::uint16_t channels = 0;
  std::uint32_t sample_rate = 0;
  std::uint16_t block_align = 0;
  std::uint16_t bits = 0;
};

Format parse_format(const std::byte* body, std::uint32_t size, const std::string& name) {
  SIEVE_USER_CHECK(size >= 16, "WAV file '{}' is damaged: its fmt chunk has {} bytes (at least 16 expected)", name,
                   size);
  Format f;
  f.tag = load_u16(body);
  f.channels = load_u16(body + 2);
  f.sample_rate = load_u32(body + 4);
  f.block_align = load_u16(body + 12);
  f.bits = load_u16(body + 14);
  if (f.tag == kFormatExtensible) {
    SIEVE_USER_CHECK(size >= 40 && load_u16(body + 16) >= 22,
                     "WAV file '{}' is damaged: an extensible fmt chunk of {} bytes (at least 40 expected)", name,
                     size);
    const std::uint16_t valid_bits = load_u16(body + 18);
    SIEVE_USER_CHECK(valid_bits > 0 && valid_bits <= f.bits,
                     "WAV file '{}' is damaged: {} valid bits in {}-bit samples", name, valid_bits, f.bits);
    SIEVE_USER_CHECK(std::memcmp(body + 26, kSubformatTail.data(), kSubformatTail.size()) == 0,
                     "WAV file '{}' has an unsupported extensible sub-format (not integer PCM or float)", name);
    // Samples are left-justified in their container, so decoding by the container width is exact.
    f.tag = load_u16(body + 24);
  }
  SIEVE_USER_CHECK(f.tag == kFormatPcm || f.tag == kFormatFloat,
                   "WAV file '{}' uses an unsupported codec ({}); Sieve reads integer PCM and 32-bit float "
                   "(`sox in.wav -e signed-integer out.wav` converts it)",
                   name, codec_name(f.tag));
  if (f.tag == kFormatPcm) {
    SIEVE_USER_CHECK(f.bits == 8 || f.bits == 16 || f.bits == 24 || f.bits == 32,
                     "WAV file '{}' has unsupported {}-bit integer samples (8, 16, 24 or 32 expected)", name, f.bits);
  } else {
    SIEVE_USER_CHECK(f.bits == 32, "WAV file '{}' has unsupported {}-bit float samples (32 expected)", name, f.bits);
  }
  SIEVE_USER_CHECK(f.channels >= 1, "WAV file '{}' is damaged: it has 0 channels", name);
  SIEVE_USER_CHECK(f.sample_rate >= 1 && f.sample_rate <= kMaxSampleRate,
                   "WAV file '{}' has a sample rate of {} Hz (1 to {} expected)", name, f.sample_rate,
                   kMaxSampleRate);
  const std::uint32_t frame_bytes = std::uint32_t{f.channels} * (f.bits / 8u);
  SIEVE_USER_CHECK(f.block_align == frame_bytes,
                   "WAV file '{}' is damaged: block align {} for {} channels of {}-bit samples ({} expected)", name,
                   f.block_align, f.channels, f.bits, frame_bytes);
  return f;
}

// One sample of `format` at `p`, scaled to [-1, 1].
float decode_sample(const std::byte* p, const Format& format) {
  if (format.tag == kFormatFloat) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
  switch (format.bits) {
    case 8: return (static_cast<float>(static_cast<unsigned char>(p[0])) - 128.0f) / 128.0f;
    case 16: return static_cast<float>(static_cast<std::int16_t>(load_u16(p))) / 32768.0f;
    case 24: {
      // Shift the three bytes into the top of an int32 so the sign comes along.
      const std::uint32_t raw = (std::uint32_t{static_cast<unsigned char>(p[0])} << 8) |
                                (std::uint32_t{static_cast<unsigned char>(p[1])} << 16) |
                                (std::uint32_t{static_cast<unsigned char>(p[2])} << 24);
      return static_cast<float>(static_cast<double>(static_cast<std::int32_t>(raw)) / 2147483648.0);
    }
    default:
      return static_cast<float>(static_cast<double>(static_cast<std::int32_t>(load_u32(p))) / 2147483648.0);
  }
}

}  // namespace

Waveform parse_wav(std::span<const std::byte> bytes, const std::string& name) {
  const std::size_t size = bytes.size();
  const std::byte* data = bytes.data();
  SIEVE_USER_CHECK(size >= 12, "'{}' is not a WAV file: {} bytes, shorter than the 12-byte RIFF header", name, size);
  SIEVE_USER_CHECK(chunk_id(data) != "RIFX" && chunk_id(data) != "RF64",
                   "WAV file '{}' is a {} file, which Sieve does not read (`sox in.wav out.wav` converts it)", name,
                   chunk_id(data));
  SIEVE_USER_CHECK(chunk_id(data) == "RIFF" && chunk_id(data + 8) == "WAVE",
                   "'{}' is not a WAV file (expected \"RIFF\" and \"WAVE\" at its start)", name);
  const std::uint64_t riff_end = std::uint64_t{8} + load_u32(data + 4);
  SIEVE_USER_CHECK(riff_end >= 12 && riff_end <= size,
                   "WAV file '{}' is damaged: its RIFF header promises {} bytes but the file has {}{}", name, riff_end,
                   size, riff_end > size ? kPipeHint : "");

  std::optional<Format> format;
  const std::byte* samples = nullptr;
  std::uint32_t sample_bytes = 0;
  std::uint64_t at = 12;
  while (at + 8 <= riff_end) {
    const std::byte* header = data + at;
    const std::uint32_t chunk_size = load_u32(header + 4);
    const std::uint64_t body = at + 8;
    SIEVE_USER_CHECK(chunk_size <= riff_end - body,
                     "WAV file '{}' is damaged: chunk '{}' at byte {} claims {} bytes but only {} remain{}", name,
                     printable_id(header), at, chunk_size, riff_end - body, kPipeHint);
    if (chunk_id(header) == "fmt ") {
      SIEVE_USER_CHECK(!format, "WAV file '{}' is damaged: it has two fmt chunks", name);
      format = parse_format(data + body, chunk_size, name);
    } else if (chunk_id(header) == "data") {
      SIEVE_USER_CHECK(samples == nullptr, "WAV file '{}' is damaged: it has two data chunks", name);
      samples = data + body;
      sample_bytes = chunk_size;
    }
    at = body + chunk_size + (chunk_size & 1u);  // chunks are padded to an even length
  }
  SIEVE_USER_CHECK(format, "WAV file '{}' is damaged: it has no fmt chunk", name);
  SIEVE_USER_CHECK(samples != nullptr, "WAV file '{}' is damaged: it has no data chunk", name);
  SIEVE_USER_CHECK(sample_bytes % format->block_align == 0,
                   "WAV file '{}' is damaged: its data chunk of {} bytes is not a whole number of {}-byte frames",
                   name, sample_bytes, format->block_align);

  const std::size_t frames = sample_bytes / format->block_align;
  const std::size_t sample_size = format->bits / 8u;
  Waveform wave;
  wave.sample_rate = static_cast<int>(format->sample_rate);
  wave.samples.resize(frames);
  for (std::size_t i = 0; i < frames; ++i) {
    const std::byte* frame = samples + i * format->block_align;
    double sum = 0.0;
    for (std::size_t c = 0; c < format->channels; ++c) {
      const float v = decode_sample(frame + c * sample_size, *format);
      SIEVE_USER_CHECK(std::isfinite(v), "WAV file '{}' is damaged: sample {} of channel {} is not finite", name, i,
                       c);
      sum += std::clamp(v, -1.0f, 1.0f);
    }
    wave.samples[i] = static_cast<float>(sum / format->channels);
  }
  return wave;
}

Waveform read_wav(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code error;
  SIEVE_USER_CHECK(std::filesystem::is_regular_file(path, error), "WAV file '{}' does not exist or is not a file",
                   name);
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  SIEVE_USER_CHECK(!error, "cannot read WAV file '{}': {}", name, error.message());
  SIEVE_USER_CHECK(size <= kMaxWavFileBytes, "WAV file '{}' has {} bytes, more than the {} Sieve reads", name, size,
                   kMaxWavFileBytes);
  std::vector<std::byte> bytes(size);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  SIEVE_USER_CHECK(in && static_cast<std::uintmax_t>(in.gcount()) == size, "cannot read WAV file '{}'", name);
  return parse_wav(bytes, name);
}

std::vector<std::byte> encode_wav(const Waveform& wave) {
  SIEVE_CHECK(wave.sample_rate > 0 && static_cast<std::uint32_t>(wave.sample_rate) <= kMaxSampleRate,
              "WAV sample rate {} outside [1, {}]", wave.sample_rate, kMaxSampleRate);
  constexpr std::size_t kHeaderBytes = 44;
  const std::uint64_t data_bytes = std::uint64_t{2} * wave.samples.size();
  SIEVE_USER_CHECK(data_bytes + kHeaderBytes - 8 <= 0xFFFFFFFFu,
                   "audio of {} samples is too long for a WAV file (4 GiB at most)", wave.samples.size());
  std::vector<std::byte> out(kHeaderBytes + data_bytes);
  std::byte* p = out.data();
  const auto put = [&p](const void* v, std::size_t n) {
    std::memcpy(p, v, n);
    p += n;
  };
  const auto put_u16 = [&put](std::uint16_t v) { put(&v, 2); };
  const auto put_u32 = [&put](std::uint32_t v) { put(&v, 4); };
  const auto rate = static_cast<std::uint32_t>(wave.sample_rate);
  put("RIFF", 4);
  put_u32(static_cast<std::uint32_t>(data_bytes + kHeaderBytes - 8));
  put("WAVEfmt ", 8);
  put_u32(16);
  put_u16(kFormatPcm);
  put_u16(1);         // channels
  put_u32(rate);
  put_u32(rate * 2);  // bytes per second
  put_u16(2);         // block align
  put_u16(16);        // bits per sample
  put("data", 4);
  put_u32(static_cast<std::uint32_t>(data_bytes));
  for (const float sample : wave.samples) {
    const float scaled = std::nearbyint(std::clamp(sample, -1.0f, 1.0f) * 32768.0f);
    put_u16(static_cast<std::uint16_t>(static_cast<std::int16_t>(std::min(scaled, 32767.0f))));
  }
  return out;
}

void write_wav(const std::filesystem::path& path, const Waveform& wave) {
  const std::vector<std::byte> bytes = encode_wav(wave);
  core::AtomicFileWriter file(path);
  file.write(bytes);
  file.commit();
}

}  // namespace sieve::data::audio
