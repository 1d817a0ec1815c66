// WAV reading (every PCM encoding, checked sizes, clear errors), writing, and resampling.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numbers>
#include <string>
#include <vector>

#include "data_test_util.h"
#include "fuzz_seeds.h"
#include "sieve/core/error.h"
#include "sieve/data/audio/process_pipeline.h"
#include "sieve/data/audio/resample.h"
#include "sieve/data/audio/wav_file.h"

namespace sieve::data::audio {
namespace {

using testing::TempDir;

std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> out(s.size());
  if (!s.empty()) std::memcpy(out.data(), s.data(), s.size());
  return out;
}

std::string u16(std::uint16_t v) { return std::string(reinterpret_cast<const char*>(&v), 2); }
std::string u32(std::uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

std::string chunk(const std::string& id, const std::string& body) {
  std::string out = id + u32(static_cast<std::uint32_t>(body.size())) + body;
  if (body.size() % 2) out += '\0';
  return out;
}

std::string fmt_chunk(std::uint16_t tag, std::uint16_t channels, std::uint32_t rate, std::uint16_t bits) {
  const std::uint16_t align = static_cast<std::uint16_t>(channels * bits / 8);
  return chunk("fmt ", u16(tag) + u16(channels) + u32(rate) + u32(rate * align) + u16(align) + u16(bits));
}

std::string riff(const std::string& chunks) { return "RIFF" + u32(static_cast<std::uint32_t>(chunks.size() + 4)) + "WAVE" + chunks; }

Waveform parse(const std::string& file) { return parse_wav(bytes_of(file), "test.wav"); }

std::string user_error_of(const std::string& file) {
  try {
    parse(file);
  } catch (const core::UserError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no core::UserError";
  return "";
}

TEST(AudioWav, DecodesEveryIntegerWidthToUnitRange) {
  const auto eight = parse(riff(fmt_chunk(1, 1, 8000, 8) + chunk("data", std::string{'\x00', '\x80', '\xff'})));
  EXPECT_EQ(eight.sample_rate, 8000);
  EXPECT_EQ(eight.samples, (std::vector<float>{-1.0f, 0.0f, 127.0f / 128.0f}));

  const auto sixteen = parse(riff(fmt_chunk(1, 1, 16000, 16) + chunk("data", u16(0x8000) + u16(0) + u16(0x4000))));
  EXPECT_EQ(sixteen.samples, (std::vector<float>{-1.0f, 0.0f, 0.5f}));

  const auto twenty_four =
      parse(riff(fmt_chunk(1, 1, 48000, 24) + chunk("data", std::string{'\x00', '\x00', '\x80', '\x00', '\x00', '\x40',
                                                                         '\xff', '\xff', '\xff'})));
  EXPECT_EQ(twenty_four.samples, (std::vector<float>{-1.0f, 0.5f, -1.0f / 8388608.0f}));

  const auto thirty_two = parse(riff(fmt_chunk(1, 1, 16000, 32) + chunk("data", u32(0x80000000u) + u32(0x40000000u))));
  EXPECT_EQ(thirty_two.samples, (std::vector<float>{-1.0f, 0.5f}));
}

TEST(AudioWav, FloatSamplesAreClampedAndMustBeFinite) {
  std::string data;
  for (const float v : {0.25f, -2.0f, 3.0f}) data += std::string(reinterpret_cast<const char*>(&v), 4);
  EXPECT_EQ(parse(riff(fmt_chunk(3, 1, 16000, 32) + chunk("data", data))).samples,
            (std::vector<float>{0.25f, -1.0f, 1.0f}));
  const float nan = std::nanf("");
  const std::string message =
      user_error_of(riff(fmt_chunk(3, 1, 16000, 32) + chunk("data", std::string(reinterpret_cast<const char*>(&nan), 4))));
  EXPECT_NE(message.find("not finite"), std::string::npos) << message;
}

TEST(AudioWav, ChannelsAreAveragedAndOtherChunksSkipped) {
  // Two channels (0.5, -0.25) and (1/8, 1/8), an odd-sized LIST chunk before the data.
  const auto wave = parse(riff(fmt_chunk(1, 2, 22050, 16) + chunk("LIST", "abc") +
                               chunk("data", u16(0x4000) + u16(0xE000) + u16(0x1000) + u16(0x1000))));
  EXPECT_EQ(wave.sample_rate, 22050);
  EXPECT_EQ(wave.samples, (std::vector<float>{0.125f, 0.125f}));
}

TEST(AudioWav, ExtensibleFormatIsRead) {
  const std::string guid_tail = {'\x00', '\x00', '\x00', '\x00', '\x10', '\x00', '\x80',
                                 '\x00', '\x00', '\xAA', '\x00', '\x38', '\x9B', '\x71'};
  const auto extensible = [&](std::uint16_t subformat) {
    const std::string body = u16(0xFFFE) + u16(1) + u32(16000) + u32(64000) + u16(4) + u16(32) + u16(22) + u16(24) +
                             u32(4) + u16(subformat) + guid_tail;
    return riff(chunk("fmt ", body) + chunk("data", u32(0x40000000u)));
  };
  EXPECT_EQ(parse(extensible(1)).samples, std::vector<float>{0.5f});
  const std::string message = user_error_of(extensible(2));
  EXPECT_NE(message.find("ADPCM"), std::string::npos) << message;
}

TEST(AudioWav, RoundTripsThroughSixteenBitFiles) {
  const TempDir dir;
  Waveform wave;
  wave.sample_rate = 16000;
  for (int i = 0; i < 1000; ++i) wave.samples.push_back(static_cast<float>(std::sin(i * 0.05) * 0.9));
  wave.samples.push_back(1.0f);   // clamps to 32767 / 32768
  wave.samples.push_back(-1.0f);
  write_wav(dir / "a.wav", wave);
  const Waveform back = read_wav(dir / "a.wav");
  EXPECT_EQ(back.sample_rate, 16000);
  ASSERT_EQ(back.samples.size(), wave.samples.size());
  for (std::size_t i = 0; i < wave.samples.size(); ++i) EXPECT_NEAR(back.samples[i], wave.samples[i], 1.0 / 32768);
  // Decoded 16-bit samples encode to the same bytes.
  EXPECT_EQ(encode_wav(back), encode_wav(read_wav(dir / "a.wav")));
  EXPECT_EQ(testing::read_file(dir / "a.wav").size(), 44 + 2 * wave.samples.size());
}

// sox writes each encoding; sox's own conversion of the same file to raw floats is the reference.
TEST(AudioWav, MatchesSoxOnEveryEncoding) {
  const TempDir dir;
  const std::string source = (dir / "source.wav").string();
  ASSERT_EQ(run_pipeline({{"sox", "-q", "-D", "-n", "-r", "22050", "-c", "2", "-b", "32", "-e", "floating-point", source,
                           "synth", "0.05", "sine", "440", "sine", "1320", "vol", "0.9"}},
                         "")
                .first_failure(),
            -1);
  const std::vector<std::vector<std::string>> encodings = {{"-e", "unsigned-integer", "-b", "8"},
                                                           {"-e", "signed-integer", "-b", "16"},
                                                           {"-e", "signed-integer", "-b", "24"},
                                                           {"-e", "signed-integer", "-b", "32"},
                                                           {"-e", "floating-point", "-b", "32"}};
  for (const auto& encoding : encodings) {
    SCOPED_TRACE(encoding[1] + " " + encoding[3]);
    const std::string file = (dir / "encoded.wav").string();
    std::vector<std::string> convert = {"sox", "-q", "-D", source};
    convert.insert(convert.end(), encoding.begin(), encoding.end());
    convert.push_back(file);
    ASSERT_EQ(run_pipeline({convert}, "").first_failure(), -1);
    const PipelineResult raw = run_pipeline(
        {{"sox", "-q", "-D", file, "-t", "raw", "-e", "floating-point", "-b", "32", "-L", "-"}}, "");
    ASSERT_EQ(raw.first_failure(), -1);
    std::vector<float> interleaved(raw.output.size() / 4);
    std::memcpy(interleaved.data(), raw.output.data(), interleaved.size() * 4);

    const Waveform wave = read_wav(file);
    EXPECT_EQ(wave.sample_rate, 22050);
    ASSERT_EQ(wave.samples.size() * 2, interleaved.size());
    for (std::size_t i = 0; i < wave.samples.size(); ++i)
      ASSERT_NEAR(wave.samples[i], (interleaved[2 * i] + interleaved[2 * i + 1]) / 2, 1e-6) << "sample " << i;
  }
}

TEST(AudioWav, MalformedFilesAreUserErrorsNamingTheProblem) {
  const std::string good = riff(fmt_chunk(1, 1, 16000, 16) + chunk("data", u16(1) + u16(2)));
  ASSERT_NO_THROW(parse(good));
  const auto expect_error = [](const std::string& file, const std::string& words) {
    const std::string message = user_error_of(file);
    EXPECT_NE(message.find("test.wav"), std::string::npos) << message;
    EXPECT_NE(message.find(words), std::string::npos) << message;
  };
  expect_error("", "not a WAV file");
  expect_error(std::string(good).replace(0, 4, "RIFX"), "RIFX");
  expect_error(std::string(good).replace(8, 4, "AVI "), "not a WAV file");
  expect_error(good.substr(0, good.size() - 1), "RIFF header promises");  // truncated
  // The data chunk claims more than the file holds (as in a WAV streamed to a pipe).
  expect_error(riff(fmt_chunk(1, 1, 16000, 16) + "data" + u32(0x7ffff000u) + u16(1)), "claims 2147479552 bytes");
  expect_error(riff(chunk("data", u16(1))), "no fmt chunk");
  expect_error(riff(fmt_chunk(1, 1, 16000, 16)), "no data chunk");
  expect_error(riff(fmt_chunk(1, 1, 16000, 16) + fmt_chunk(1, 1, 16000, 16) + chunk("data", "")), "two fmt");
  expect_error(riff(fmt_chunk(7, 1, 8000, 8) + chunk("data", "a")), "mu-law");
  expect_error(riff(fmt_chunk(0x55, 1, 8000, 16) + chunk("data", "ab")), "MPEG");
  expect_error(riff(fmt_chunk(1, 1, 16000, 12) + chunk("data", "ab")), "12-bit");
  expect_error(riff(fmt_chunk(3, 1, 16000, 64) + chunk("data", std::string(8, '\0'))), "64-bit float");
  expect_error(riff(fmt_chunk(1, 0, 16000, 16) + chunk("data", "")), "0 channels");
  expect_error(riff(fmt_chunk(1, 1, 0, 16) + chunk("data", "")), "sample rate of 0");
  expect_error(riff(chunk("fmt ", u16(1) + u16(2) + u32(16000) + u32(64000) + u16(2) + u16(16)) + chunk("data", "")),
               "block align 2");
  expect_error(riff(chunk("fmt ", u16(1) + u16(1))), "fmt chunk has 4 bytes");
  expect_error(riff(fmt_chunk(1, 2, 16000, 16) + chunk("data", "abcdef")), "not a whole number of 4-byte frames");
}

TEST(AudioWav, MissingFilesAreUserErrors) {
  const TempDir dir;
  EXPECT_THROW(read_wav(dir / "absent.wav"), core::UserError);
  EXPECT_THROW(read_wav(dir.path()), core::UserError);
}

TEST(AudioWav, FuzzSeedsLoadOrFailAsNamed) {
  sieve::testing::check_fuzz_seeds("wav", [](const std::string& bytes, const std::string& name) {
    parse_wav(bytes_of(bytes), name);
  });
}

TEST(AudioResample, KeepsASineWaveAtTheNewRate) {
  Waveform wave;
  wave.sample_rate = 44100;
  const double frequency = 1000.0;
  for (int i = 0; i < 44100 / 4; ++i)
    wave.samples.push_back(static_cast<float>(0.5 * std::sin(2 * std::numbers::pi * frequency * i / 44100)));
  const Waveform out = resample(wave, 16000);
  EXPECT_EQ(out.sample_rate, 16000);
  EXPECT_NEAR(static_cast<double>(out.samples.size()), 4000.0, 1.0);
  // Away from the edges (where the filter sees the clip start and end) it is the same sine.
  double worst = 0.0;
  for (std::size_t i = 200; i + 200 < out.samples.size(); ++i)
    worst = std::max(worst, std::abs(out.samples[i] - 0.5 * std::sin(2 * std::numbers::pi * frequency * i / 16000)));
  EXPECT_LT(worst, 1e-3);
  EXPECT_EQ(resample(out, 16000).samples, out.samples);
  EXPECT_EQ(resample(wave, 16000).samples, out.samples);  // deterministic
}

}  // namespace
}  // namespace sieve::data::audio
