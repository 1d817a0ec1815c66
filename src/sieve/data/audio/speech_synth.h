// Speech synthesis: text to 16 kHz mono audio by two GPL speech engines run as separate
// processes (never linked): espeak-ng, resampled by sox, and festival's text2wave.
//
//   espeak-ng -v ACCENT+VARIANT -s SPEED -p PITCH --stdin --stdout
//     | sox -q -D -t wav - -t raw -e signed-integer -b 16 -L -c 1 -r 16000 -
//   text2wave -otype raw -F 16000 -o - -eval (voice_VOICE) -eval (...F0 and duration...)
//
// The text goes to the engine's stdin — never into an argument or a shell — so no text can be
// read as an option or a command. sox's -D turns dithering off, so the same call gives the same
// samples every time (synthesize is deterministic; tests/data/test_audio_synth.cpp checks it).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace sieve::data::audio {

enum class Engine { espeak_ng, festival };

// "espeak-ng" / "festival"; parse_engine throws core::UserError for any other name.
std::string_view engine_name(Engine engine);
Engine parse_engine(std::string_view name);

// One synthetic speaker. What the numbers mean depends on the engine:
//   espeak-ng: accent is an English language voice (espeak_accents()), variant a speaker
//              variant (espeak_variants(): formants, breathiness, ...), speed in words per minute
//              (-s, 80..450), pitch 0..99 (-p; 50 is the voice's own).
//   festival:  accent is a festival voice (festival_voices(); kal_diphone is the one Debian's
//              festvox-kallpc16k installs), variant is empty, speed is a percentage of the voice's
//              own rate (Duration_Stretch = 100 / speed, 50..200), pitch the mean F0 in Hz that the
//              intonation model targets (int_lr_params target_f0_mean, 60..250; 105 is kal's own).
struct Voice {
  Engine engine = Engine::espeak_ng;
  std::string accent = "en-us";
  std::string variant;
  int speed = 175;
  int pitch = 50;

  friend bool operator==(const Voice&, const Voice&) = default;
};

// A stable name for a voice: "espeak-ng/en-us+f3/s160/p55", "festival/kal_diphone/s100/p105".
std::string voice_name(const Voice& voice);

// The English accents of espeak-ng that need no extra voice data (mbrola voices are left out),
// and the speaker variants used for data (the robotic, whispering and novelty ones are left
// out). Fixed lists in a fixed order, so voice grids are reproducible.
const std::vector<std::string>& espeak_accents();
const std::vector<std::string>& espeak_variants();
const std::vector<std::string>& festival_voices();

// Throws core::UserError naming the field unless `voice` is one synthesize accepts.
void validate_voice(const Voice& voice);

// The programs run; tests point them elsewhere (a missing program, one that fails).
struct SynthesisPrograms {
  std::string espeak_ng = "espeak-ng";
  std::string sox = "sox";
  std::string text2wave = "text2wave";
  std::string festival = "festival";  // only for its version
  std::chrono::milliseconds timeout{60'000};  // per clip
};

// Longest text accepted (bytes): a caption or a question, not a book.
inline constexpr std::size_t kMaxSynthesisTextBytes = 4096;

// `text` spoken by `voice`: 16 kHz mono samples in [-1, 1]. Thread-safe; each call runs its own
// processes. Throws core::UserError for an invalid voice, empty or over-long text, an engine that
// is not installed (naming its Debian package), one that exits non-zero or times out (with its
// stderr), or one that produces no audio.
std::vector<float> synthesize(std::string_view text, const Voice& voice, const SynthesisPrograms& programs = {});

// The version of the programs an engine's audio comes from (`espeak-ng --version` and
// `sox --version`; `festival --version`), recorded with a data set so features made by other
// versions are not reused. Throws like synthesize.
std::string engine_version(Engine engine, const SynthesisPrograms& programs = {});

}  // namespace sieve::data::audio
