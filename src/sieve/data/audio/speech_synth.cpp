#include "sieve/data/audio/speech_synth.h"

#include <algorithm>
#include <cstring>

#include "sieve/core/error.h"
#include "sieve/data/audio/process_pipeline.h"
#include "sieve/data/audio/resample.h"

namespace sieve::data::audio {

namespace {

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string join(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& item : list) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string package_of(const std::string& program) {
  if (program == "espeak-ng") return "espeak-ng";
  if (program == "sox") return "sox";
  if (program == "text2wave" || program == "festival") return "festival and festvox-kallpc16k";
  return "";
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

// Runs `commands` and returns their output, or throws a UserError that says which program failed
// and how. `what` names the job for the message ("speaking \"a sandal\" as espeak-ng/...").
std::string run_or_throw(const std::vector<std::vector<std::string>>& commands, std::string_view input,
                         std::chrono::milliseconds timeout, const std::string& what) {
  PipelineLimits limits;
  limits.timeout = timeout;
  const PipelineResult result = run_pipeline(commands, input, limits);
  if (result.failed_to_start >= 0) {
    const std::string& program = commands[result.failed_to_start][0];
    const std::string package = package_of(program);
    core::throw_user_error("{}: cannot run '{}': {}{}", what, program, std::strerror(result.start_errno),
                           result.start_errno == ENOENT
                               ? (package.empty() ? std::string(" (not installed or not on PATH)")
                                                  : " (not installed? Debian package " + package + ")")
                               : std::string());
  }
  SIEVE_USER_CHECK(!result.timed_out, "{}: the speech programs did not finish in {} ms", what, timeout.count());
  SIEVE_USER_CHECK(!result.output_too_large, "{}: the speech programs produced more than {} bytes of audio", what,
                   limits.max_output_bytes);
  const int failed = result.first_failure();
  SIEVE_USER_CHECK(failed < 0, "{}: '{}' exited with status {}{}{}", what, commands[failed][0],
                   result.exit_codes[failed], result.errors.empty() ? "" : ": ", trimmed(result.errors));
  return result.output;
}

std::vector<float> decode_s16(const std::string& bytes) {
  std::vector<float> samples(bytes.size() / 2);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    std::int16_t v;
    std::memcpy(&v, bytes.data() + 2 * i, 2);
    samples[i] = static_cast<float>(v) / 32768.0f;
  }
  return samples;
}

std::vector<std::vector<std::string>> espeak_commands(const Voice& voice, const SynthesisPrograms& programs) {
  const std::string name = voice.variant.empty() ? voice.accent : voice.accent + "+" + voice.variant;
  return {{programs.espeak_ng, "-v", name, "-s", std::to_string(voice.speed), "-p", std::to_string(voice.pitch),
           "--stdin", "--stdout"},
          {programs.sox, "-q", "-D", "-t", "wav", "-", "-t", "raw", "-e", "signed-integer", "-b", "16", "-L", "-c",
           "1", "-r", std::to_string(kSpeechSampleRate), "-"}};
}

std::vector<std::vector<std::string>> festival_commands(const Voice& voice, const SynthesisPrograms& programs) {
  // Voice names and numbers are validated, so these expressions hold no user text. The F0
  // standard deviation and the model's F0 statistics are kal_diphone's own.
  return {{programs.text2wave, "-otype", "raw", "-F", std::to_string(kSpeechSampleRate), "-o", "-", "-eval",
           "(voice_" + voice.accent + ")", "-eval",
           "(set! int_lr_params '((target_f0_mean " + std::to_string(voice.pitch) +
               ") (target_f0_std 14) (model_f0_mean 170) (model_f0_std 34)))",
           "-eval", "(Parameter.set 'Duration_Stretch " + std::to_string(100.0 / voice.speed) + ")"}};
}

}  // namespace

std::string_view engine_name(Engine engine) { return engine == Engine::espeak_ng ? "espeak-ng" : "festival"; }

Engine parse_engine(std::string_view name) {
  if (name == "espeak-ng") return Engine::espeak_ng;
  if (name == "festival") return Engine::festival;
  core::throw_user_error("unknown speech engine '{}' (espeak-ng or festival)", name);
}

std::string voice_name(const Voice& voice) {
  const std::string who = voice.variant.empty() ? voice.accent : voice.accent + "+" + voice.variant;
  return fmt::format("{}/{}/s{}/p{}", engine_name(voice.engine), who, voice.speed, voice.pitch);
}

const std::vector<std::string>& espeak_accents() {
  // British English is "en": espeak-ng 1.51 resolves "en-gb" to the same voice but then drops
  // a "+variant" suffix, so every en-gb variant would sound alike.
  static const std::vector<std::string> accents = {"en-us",          "en",         "en-gb-scotland", "en-gb-x-gbclan",
                                                   "en-gb-x-gbcwmd", "en-gb-x-rp", "en-029",         "en-us-nyc"};
  return accents;
}

const std::vector<std::string>& espeak_variants() {
  // klatt is left out too: it sounds exactly like caleb.
  static const std::vector<std::string> variants = {
      "m1",   "m2",       "m3",       "m4",    "m5",     "m6",     "m7",       "m8",     "f1",
      "f2",   "f3",       "f4",       "f5",    "adam",   "Alex",   "Alicia",   "Andrea", "Andy",
      "Annie", "aunty",   "belinda",  "benjamin", "boris", "caleb", "david",    "ed",     "edward",
      "iven", "john",     "linda",    "max",   "michel", "norbert", "paul",    "quincy", "rob",
      "robert", "sandro", "shelby",   "steph", "travis", "victor", "grandma",  "grandpa"};
  return variants;
}

const std::vector<std::string>& festival_voices() {
  static const std::vector<std::string> voices = {"kal_diphone"};
  return voices;
}

void validate_voice(const Voice& voice) {
  if (voice.engine == Engine::espeak_ng) {
    SIEVE_USER_CHECK(contains(espeak_accents(), voice.accent), "unknown espeak-ng accent '{}' (one of: {})",
                     voice.accent, join(espeak_accents()));
    SIEVE_USER_CHECK(voice.variant.empty() || contains(espeak_variants(), voice.variant),
                     "unknown espeak-ng variant '{}' (one of: {})", voice.variant, join(espeak_variants()));
    SIEVE_USER_CHECK(voice.speed >= 80 && voice.speed <= 450, "espeak-ng speed {} outside [80, 450] words per minute",
                     voice.speed);
    SIEVE_USER_CHECK(voice.pitch >= 0 && voice.pitch <= 99, "espeak-ng pitch {} outside [0, 99]", voice.pitch);
  } else {
    SIEVE_USER_CHECK(contains(festival_voices(), voice.accent), "unknown festival voice '{}' (one of: {})",
                     voice.accent, join(festival_voices()));
    SIEVE_USER_CHECK(voice.variant.empty(), "festival voices have no variants (got '{}')", voice.variant);
    SIEVE_USER_CHECK(voice.speed >= 50 && voice.speed <= 200, "festival speed {}% outside [50, 200]", voice.speed);
    SIEVE_USER_CHECK(voice.pitch >= 60 && voice.pitch <= 250, "festival mean pitch {} Hz outside [60, 250]",
                     voice.pitch);
  }
}

std::vector<float> synthesize(std::string_view text, const Voice& voice, const SynthesisPrograms& programs) {
  validate_voice(voice);
  const std::string what = fmt::format("speaking \"{}\" as {}", text.substr(0, 60), voice_name(voice));
  SIEVE_USER_CHECK(text.find_first_not_of(" \t\r\n") != std::string_view::npos, "{}: the text is empty", what);
  SIEVE_USER_CHECK(text.size() <= kMaxSynthesisTextBytes, "{}: the text has {} bytes, more than the {} accepted", what,
                   text.size(), kMaxSynthesisTextBytes);
  const auto commands =
      voice.engine == Engine::espeak_ng ? espeak_commands(voice, programs) : festival_commands(voice, programs);
  const std::string output = run_or_throw(commands, text, programs.timeout, what);
  // festival reports errors in its Scheme code on stderr but exits 0 with no audio.
  SIEVE_USER_CHECK(output.size() >= 2, "{}: '{}' produced no audio", what, commands.front()[0]);
  return decode_s16(output);
}

std::string engine_version(Engine engine, const SynthesisPrograms& programs) {
  const std::string what = fmt::format("asking {} for its version", engine_name(engine));
  if (engine == Engine::festival)
    return trimmed(run_or_throw({{programs.festival, "--version"}}, "", programs.timeout, what));
  return trimmed(run_or_throw({{programs.espeak_ng, "--version"}}, "", programs.timeout, what)) + "; " +
         trimmed(run_or_throw({{programs.sox, "--version"}}, "", programs.timeout, what));
}

}  // namespace sieve::data::audio
