// libFuzzer target: a dictd dictionary read as a corpus (data::DictdReader): the dictionary
// text — gzip/dictzip when it starts with the gzip magic bytes 1f 8b, plain otherwise — and its
// index of "headword TAB offset TAB length" lines.
//
// Input: NAME.dict[.dz] MARKER NAME.index (fuzz_inputs.h). The reader's cap on decompressed text
// is kDictdFuzzMaxTextBytes here, so a small input that inflates past it must be refused, not read. A
// core::UserError is the expected answer to a bad dictionary; anything else (another exception,
// a sanitizer report, a document the reader's own counts cannot account for) is a bug and
// crashes the run.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_inputs.h"
#include "sieve/core/error.h"
#include "sieve/data/corpus_dictd.h"

namespace fz = sieve::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto parts = fz::split_parts(input, 2);
  const std::filesystem::path& dir = fz::scratch_dir();
  const bool gzip = parts[0].size() >= 2 && parts[0][0] == '\x1f' && parts[0][1] == '\x8b';
  const std::filesystem::path dict = dir / (gzip ? "fuzz.dict.dz" : "fuzz.dict");
  fz::put_file(dir / "fuzz.dict.dz", gzip ? fz::part(parts, 0) : std::nullopt);
  fz::put_file(dir / "fuzz.dict", gzip ? std::nullopt : fz::part(parts, 0));
  fz::put_file(dir / "fuzz.index", fz::part(parts, 1));
  try {
    sieve::data::DictdReader reader(dict, {.clean = true, .max_text_bytes = fz::kDictdFuzzMaxTextBytes});
    std::uint64_t documents = 0;
    std::string document;
    while (reader.next(document)) {
      ++documents;
      if (document.empty()) fz::broken("an empty document");
      if (reader.bytes_consumed() > reader.bytes_total()) fz::broken("consumed more bytes than the total");
    }
    if (documents > reader.entry_count()) fz::broken("more documents than entries");
    if (reader.bytes_consumed() != reader.bytes_total()) fz::broken("a finished reader did not consume every byte");
  } catch (const sieve::core::UserError&) {
  }
  return 0;
}
