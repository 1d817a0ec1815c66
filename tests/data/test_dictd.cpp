#include <gtest/gtest.h>
#include <zlib.h>

#include "data_test_util.h"
#include "fuzz_inputs.h"
#include "fuzz_seeds.h"
#include "sieve/core/error.h"
#include "sieve/data/corpus.h"
#include "sieve/data/corpus_dictd.h"
#include "sieve/data/gzip_file.h"

namespace sieve::data {
namespace {

using testing::read_file;
using testing::TempDir;
using testing::write_file;
using Docs = std::vector<std::string>;

std::string base64_number(std::uint64_t value) {
  static constexpr std::string_view kDigits =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string digits;
  do {
    digits.insert(digits.begin(), kDigits[value % 64]);
    value /= 64;
  } while (value > 0);
  return digits;
}

void write_gzip(const std::filesystem::path& path, std::string_view content) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, content.data(), static_cast<unsigned>(content.size())),
            static_cast<int>(content.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

// A small dictionary in dictd layout: metadata, entries in file order, and an index sorted by
// headword whose alternate headwords share an entry.
struct TinyDictionary {
  std::string text;
  std::string index;
};

TinyDictionary tiny_dictionary() {
  const std::vector<std::pair<std::string, std::string>> parts = {
      {"00-database-short", "00-database-short\n   A tiny test dictionary\n\n"},
      {"Apple", "Apple \\Ap\"ple\\, n.\n   A fruit.    --Shak.\n   [1913 Webster]\n\n"},
      {"Brook", "Brook, n.\n   A small stream.   \n   [WordNet 1.5 +PJC]\n\n\n   [Obs.]\n\n"},
      {"Cat", "Cat, n.\n   An animal. See {Kitten}.\n\n"},
  };
  TinyDictionary dict;
  std::vector<std::string> index_lines;
  for (const auto& [headword, body] : parts) {
    const auto offset = dict.text.size();
    dict.text += body;
    const std::string range = base64_number(offset) + "\t" + base64_number(body.size());
    index_lines.push_back(headword + "\t" + range);
    if (headword == "Apple") index_lines.push_back("apples\t" + range);  // shared entry
    if (headword == "00-database-short") index_lines.push_back("00-gcide-short\t" + range);
  }
  std::sort(index_lines.begin(), index_lines.end());
  for (const auto& line : index_lines) dict.index += line + "\n";
  return dict;
}

const Docs kTinyDocuments = {
    "Apple \\Ap\"ple\\, n.\n   A fruit. --Shak.",
    "Brook, n.\n   A small stream.\n\n   [Obs.]",
    "Cat, n.\n   An animal. See {Kitten}.",
};

TEST(Dictd, DecodesBase64Numbers) {
  EXPECT_EQ(decode_dictd_base64("A"), 0u);
  EXPECT_EQ(decode_dictd_base64("B"), 1u);
  EXPECT_EQ(decode_dictd_base64("/"), 63u);
  EXPECT_EQ(decode_dictd_base64("BA"), 64u);
  EXPECT_EQ(decode_dictd_base64("Fz"), 5u * 64 + 51);
  EXPECT_EQ(decode_dictd_base64(base64_number(39952321)), 39952321u);
  EXPECT_EQ(decode_dictd_base64(""), std::nullopt);
  EXPECT_EQ(decode_dictd_base64("A=B"), std::nullopt);
  EXPECT_EQ(decode_dictd_base64("AAAAAAAAAAA"), std::nullopt);  // 11 digits
  EXPECT_EQ(dictd_index_path("/x/gcide.dict.dz"), std::filesystem::path("/x/gcide.index"));
  EXPECT_EQ(dictd_index_path("foldoc.dict"), std::filesystem::path("foldoc.index"));
}

TEST(Dictd, RecognisesSourceTagLines) {
  EXPECT_TRUE(is_dictd_source_tag_line("   [1913 Webster]"));
  EXPECT_TRUE(is_dictd_source_tag_line("[WordNet 1.5 +PJC]"));
  EXPECT_TRUE(is_dictd_source_tag_line("      [Webster 1913 Suppl. + WordNet 1.5]  "));
  EXPECT_TRUE(is_dictd_source_tag_line("[Century Dict. 1906]"));
  EXPECT_TRUE(is_dictd_source_tag_line("[PJC]"));
  EXPECT_FALSE(is_dictd_source_tag_line("   [Obs.]"));
  EXPECT_FALSE(is_dictd_source_tag_line("   [Written also {sceptic}.]"));
  EXPECT_FALSE(is_dictd_source_tag_line("   [1913]"));
  EXPECT_FALSE(is_dictd_source_tag_line("   To act upon. [1913 Webster]"));
}

TEST(Dictd, CleanupIsLight) {
  EXPECT_EQ(clean_dictd_entry("\n\nWord \\W\\, n.  \n   Sense one.          --Milton.\n"
                              "   [1913 Webster]\n\n\n\n         Quote line.\n   [PJC]\n\n"),
            "Word \\W\\, n.\n   Sense one. --Milton.\n\n         Quote line.");
  EXPECT_EQ(clean_dictd_entry("   [1913 Webster]\n"), "");
  // Tags glued to text lose the tag only; other brackets stay.
  EXPECT_EQ(clean_dictd_entry("   [1913 Webster] This letter.\n   Syn: AFL. [WordNet 1.5]\n"
                              "   [Obsolescent] [Webster 1913 Suppl.]\n   [=a] [R. [broken"),
            "   This letter.\n   Syn: AFL.\n   [Obsolescent]\n   [=a] [R. [broken");
}

TEST(Dictd, ReadsEntriesOnceInFileOrderWithoutMetadata) {
  TempDir dir;
  const TinyDictionary dict = tiny_dictionary();
  write_gzip(dir / "tiny.dict.dz", dict.text);
  write_file(dir / "tiny.index", dict.index);
  EXPECT_EQ(read_corpus(dir / "tiny.dict.dz"), kTinyDocuments);

  DictdReader raw(dir / "tiny.dict.dz", DictdOptions{.clean = false});
  EXPECT_EQ(raw.entry_count(), 3u);
  std::string document;
  ASSERT_TRUE(raw.next(document));
  EXPECT_EQ(document, "Apple \\Ap\"ple\\, n.\n   A fruit.    --Shak.\n   [1913 Webster]\n\n");
}

TEST(Dictd, ReadsAnUncompressedDict) {
  TempDir dir;
  const TinyDictionary dict = tiny_dictionary();
  write_file(dir / "tiny.dict", dict.text);
  write_file(dir / "tiny.index", dict.index);
  EXPECT_EQ(read_corpus(dir / "tiny.dict"), kTinyDocuments);
}

TEST(Dictd, ReadsConcatenatedGzipMembers) {
  TempDir dir;
  write_gzip(dir / "a.gz", "first half, ");
  write_gzip(dir / "b.gz", "second half");
  write_file(dir / "ab.gz", read_file(dir / "a.gz") + read_file(dir / "b.gz"));
  EXPECT_EQ(read_gzip_file(dir / "ab.gz"), "first half, second half");
}

void expect_user_error(const std::function<void()>& action, std::string_view needle) {
  try {
    action();
    FAIL() << "expected a UserError mentioning '" << needle << "'";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Dictd, CorruptIndexIsAUserError) {
  TempDir dir;
  const TinyDictionary dict = tiny_dictionary();
  write_gzip(dir / "tiny.dict.dz", dict.text);
  const auto read = [&] { read_corpus(dir / "tiny.dict.dz"); };

  expect_user_error(read, "tiny.index");  // missing index
  write_file(dir / "tiny.index", dict.index + "Dog\tB*\tC\n");
  expect_user_error(read, "invalid offset");
  write_file(dir / "tiny.index", dict.index + "Dog only a headword\n");
  expect_user_error(read, "malformed");
  write_file(dir / "tiny.index",
             dict.index + "Dog\t" + base64_number(dict.text.size() - 2) + "\tE\n");
  expect_user_error(read, "points at bytes");
}

TEST(Dictd, TruncatedOrDamagedDictIsAUserError) {
  TempDir dir;
  const TinyDictionary dict = tiny_dictionary();
  write_file(dir / "tiny.index", dict.index);
  write_gzip(dir / "good.dict.dz", dict.text);
  const std::string good = read_file(dir / "good.dict.dz");

  write_file(dir / "tiny.dict.dz", good.substr(0, good.size() / 2));
  expect_user_error([&] { read_corpus(dir / "tiny.dict.dz"); }, "truncated");

  std::string damaged = good;
  for (std::size_t i = 20; i < 40 && i < damaged.size() - 8; ++i) damaged[i] ^= 0x5a;
  write_file(dir / "tiny.dict.dz", damaged);
  expect_user_error([&] { read_corpus(dir / "tiny.dict.dz"); }, "tiny.dict.dz");

  write_file(dir / "tiny.dict.dz", dict.text);  // not compressed at all
  expect_user_error([&] { read_corpus(dir / "tiny.dict.dz"); }, "not a gzip");

  expect_user_error([&] { read_corpus(dir / "absent.dict.dz"); }, "absent.dict.dz");
}

// A gzip bomb made here: one member holding 1 MiB of zeros (about 1 KiB compressed), repeated
// 64 times — 64 KiB on disk that inflate to 64 MiB. The reader stops at its cap with a clear
// error instead of inflating until memory runs out.
TEST(Dictd, GzipBombStopsAtTheDecompressedSizeCap) {
  TempDir dir;
  write_gzip(dir / "member.gz", std::string(std::size_t{1} << 20, '\0'));
  const std::string member = read_file(dir / "member.gz");
  ASSERT_LT(member.size(), 8192u);
  std::string bomb;
  for (int i = 0; i < 64; ++i) bomb += member;
  write_file(dir / "bomb.dict.dz", bomb);
  write_file(dir / "bomb.index", "zeros\tA\tBA\n");

  constexpr std::uint64_t kCap = std::uint64_t{16} << 20;
  expect_user_error([&] { read_gzip_file(dir / "bomb.dict.dz", kCap); }, "decompresses to more than 16777216 bytes");
  expect_user_error([&] { DictdReader(dir / "bomb.dict.dz", {.max_text_bytes = kCap}); }, "bomb.dict.dz");
  // The cap is inclusive: a file of exactly that size reads.
  EXPECT_EQ(read_gzip_file(dir / "bomb.dict.dz", std::uint64_t{64} << 20).size(), std::size_t{64} << 20);
  expect_user_error([&] { read_gzip_file(dir / "bomb.dict.dz", (std::uint64_t{64} << 20) - 1); }, "gzip bomb");
  // An uncompressed dictionary larger than the cap is refused before it is read.
  write_file(dir / "big.dict", std::string(4096, 'x'));
  expect_user_error([&] { DictdReader(dir / "big.dict", {.max_text_bytes = 1024}); }, "more than the 1024");
}

// As fuzz_dictd: the dictionary (gzip when it starts with 1f 8b) and its index, read to the end
// with the target's cap on the text.
TEST(Dictd, FuzzSeeds) {
  sieve::testing::check_fuzz_seeds("dictd", [](const std::string& bytes, const std::string&) {
    TempDir dir;
    const auto parts = fuzz::split_parts(bytes, 2);
    const bool gzip = parts[0].starts_with("\x1f\x8b");
    const auto dict = dir / (gzip ? "seed.dict.dz" : "seed.dict");
    write_file(dict, parts[0]);
    if (parts.size() > 1) write_file(dir / "seed.index", parts[1]);
    DictdReader reader(dict, {.max_text_bytes = fuzz::kDictdFuzzMaxTextBytes});
    std::string document;
    while (reader.next(document)) {
    }
  });
}

// The real dictionaries from Debian's dict-gcide / dict-foldoc, when installed.
TEST(Dictd, ReadsTheInstalledGcide) {
  const std::filesystem::path gcide = "/usr/share/dictd/gcide.dict.dz";
  if (!std::filesystem::exists(gcide)) GTEST_SKIP() << gcide << " not installed (dict-gcide)";
  DictdReader reader(gcide);
  EXPECT_GT(reader.entry_count(), 100000u);  // 126,236 in dict-gcide 0.48
  EXPECT_GT(reader.bytes_total(), 39'000'000u);
  // Clean the first entries (all of them takes ~1 s optimised, too long under sanitizers).
  std::string document;
  bool saw_affect = false;
  for (int i = 0; i < 3000 && reader.next(document); ++i) {
    if (document.starts_with("Affect \\Af*fect\"\\, v. t.")) saw_affect = true;
    ASSERT_EQ(document.find("[1913 Webster]"), std::string::npos) << document;
    ASSERT_FALSE(document.starts_with("00-database")) << document;
  }
  EXPECT_TRUE(saw_affect);
}

TEST(Dictd, ReadsTheInstalledFoldoc) {
  const std::filesystem::path foldoc = "/usr/share/dictd/foldoc.dict.dz";
  if (!std::filesystem::exists(foldoc)) GTEST_SKIP() << foldoc << " not installed (dict-foldoc)";
  DictdReader reader(foldoc);
  EXPECT_GT(reader.entry_count(), 10000u);  // 12,014 in dict-foldoc 20230115
  std::string document;
  for (int i = 0; i < 1000 && reader.next(document); ++i) {
    ASSERT_FALSE(document.starts_with("00-database")) << document.substr(0, 80);
  }
}

}  // namespace
}  // namespace sieve::data
