#include "sieve/data/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/core/rng.h"
#include "sieve/core/atomic_file.h"
#include "sieve/data/corpus.h"
#include "sieve/data/line_reader.h"

namespace sieve::data {

static_assert(sizeof(int) == sizeof(std::int32_t), "SentencePiece ids are int");

struct Tokenizer::Impl {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {

// SentencePiece's messages start with the source location and the failed condition; the text
// after the last "] " is the part meant for people, when there is one.
std::string readable(const sentencepiece::util::Status& status, std::string_view fallback) {
  const std::string message = status.error_message();
  const auto cut = message.rfind("] ");
  if (cut != std::string::npos && cut + 2 < message.size()) return message.substr(cut + 2);
  return fallback.empty() ? message : std::string(fallback);
}

constexpr std::string_view kNotAModel = "the bytes do not parse as a SentencePiece model";

// Runs a SentencePiece load. Some malformed models make it throw (its trie builder refuses an
// empty piece) rather than return a status; either way the file is at fault. `source` names it.
template <typename Load>
sentencepiece::util::Status guarded_load(Load load, std::string_view source) {
  try {
    return load();
  } catch (const std::exception& e) {
    std::string_view what = e.what();
    if (const auto at = what.rfind("exception: "); at != std::string_view::npos) what.remove_prefix(at + 11);
    core::throw_user_error("{} is not a valid SentencePiece tokenizer model: {}", source, what);
  }
}

// SentencePiece loads a model in which one piece is both a control and a normal piece, and then
// fails to encode with it; every piece must map back to its own id.
void check_pieces_are_unique(const sentencepiece::SentencePieceProcessor& processor, std::string_view source) {
  for (int id = 0; id < processor.GetPieceSize(); ++id) {
    const std::string& piece = processor.IdToPiece(id);
    const int again = processor.PieceToId(piece);
    SIEVE_USER_CHECK(again == id, "{} is not a valid SentencePiece tokenizer model: piece '{}' is defined twice "
                     "(ids {} and {})", source, piece, std::min(id, again), std::max(id, again));
  }
}

// SentencePiece also loads models it cannot encode with (e.g. one whose word-boundary piece "▁"
// is a control piece: "all normalized characters are not consumed"). Encoding a probe text at
// load time turns that into an error about the file, not a failure later on the first text.
void check_encodes(const sentencepiece::SentencePieceProcessor& processor, std::string_view source) {
  static constexpr std::string_view kProbe = "The quick brown fox, 0123456789.\nx";
  std::vector<int> ids;
  const auto status = processor.Encode(absl::string_view(kProbe.data(), kProbe.size()), &ids);
  SIEVE_USER_CHECK(status.ok(), "{} is not a valid SentencePiece tokenizer model: it cannot encode text ({})", source,
                   status.ToString());
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::load(const std::filesystem::path& model_file) {
  std::error_code ec;
  SIEVE_USER_CHECK(std::filesystem::is_regular_file(model_file, ec),
                   "tokenizer model '{}' does not exist or is not a file (expected a "
                   "SentencePiece .model)",
                   model_file.string());
  auto impl = std::make_unique<Impl>();
  const std::string source = fmt::format("'{}'", model_file.string());
  const auto status = guarded_load([&] { return impl->processor.Load(model_file.string()); }, source);
  SIEVE_USER_CHECK(status.ok(), "{} is not a valid SentencePiece tokenizer model: {}", source,
                   readable(status, kNotAModel));
  check_pieces_are_unique(impl->processor, source);
  check_encodes(impl->processor, source);
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_serialized(std::string_view model_bytes) {
  auto impl = std::make_unique<Impl>();
  const auto status = guarded_load(
      [&] {
        return impl->processor.LoadFromSerializedProto(absl::string_view(model_bytes.data(), model_bytes.size()));
      },
      "the tokenizer bytes");
  SIEVE_USER_CHECK(status.ok(), "tokenizer bytes are not a valid SentencePiece model: {}",
                   readable(status, kNotAModel));
  check_pieces_are_unique(impl->processor, "the tokenizer bytes");
  check_encodes(impl->processor, "the tokenizer bytes");
  return Tokenizer(std::move(impl));
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view text) const {
  std::vector<int> ids;
  const auto status =
      impl_->processor.Encode(absl::string_view(text.data(), text.size()), &ids);
  // The model passed the load-time probe; a text it still cannot encode is the model's fault.
  SIEVE_USER_CHECK(status.ok(), "the tokenizer cannot encode this text (a malformed tokenizer.model?): {}",
                   status.ToString());
  return ids;
}

std::string Tokenizer::decode(std::span<const std::int32_t> ids) const {
  const int vocab = vocab_size();
  for (const std::int32_t id : ids) {
    SIEVE_USER_CHECK(id >= 0 && id < vocab, "token id {} is outside the vocabulary [0, {})", id,
                     vocab);
  }
  std::string text;
  const auto status = impl_->processor.Decode(std::vector<int>(ids.begin(), ids.end()), &text);
  SIEVE_CHECK(status.ok(), "SentencePiece decode failed: {}", status.ToString());
  return text;
}

std::string Tokenizer::id_to_piece(std::int32_t id) const {
  SIEVE_USER_CHECK(id >= 0 && id < vocab_size(), "token id {} is outside the vocabulary [0, {})",
                   id, vocab_size());
  return impl_->processor.IdToPiece(id);
}

int Tokenizer::vocab_size() const { return impl_->processor.GetPieceSize(); }
int Tokenizer::bos_id() const { return impl_->processor.bos_id(); }
int Tokenizer::eos_id() const { return impl_->processor.eos_id(); }
int Tokenizer::pad_id() const { return impl_->processor.pad_id(); }
int Tokenizer::unk_id() const { return impl_->processor.unk_id(); }

std::string Tokenizer::serialized() const { return impl_->processor.serialized_model_proto(); }

// --- StreamingDecoder -------------------------------------------------------------------------

namespace {

// A byte-fallback piece that starts a multi-byte character decodes to U+FFFD until the rest of
// the character arrives. Returns how many trailing bytes of `text` are such placeholders.
std::size_t trailing_replacement_bytes(const std::string& text) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::size_t n = 0;
  while (text.size() >= n + kReplacement.size() &&
         std::string_view(text).substr(text.size() - n - kReplacement.size(),
                                       kReplacement.size()) == kReplacement) {
    n += kReplacement.size();
  }
  return n;
}

}  // namespace

std::string StreamingDecoder::push(std::int32_t id) { return push(std::span<const std::int32_t>(&id, 1)); }

std::string StreamingDecoder::push(std::span<const std::int32_t> ids) {
  // Checked before they join the stream, so one bad id does not poison every later push.
  for (const std::int32_t id : ids)
    SIEVE_USER_CHECK(id >= 0 && id < tokenizer_->vocab_size(), "token id {} is outside the vocabulary [0, {})", id,
                     tokenizer_->vocab_size());
  ids_.insert(ids_.end(), ids.begin(), ids.end());
  const std::string text = tokenizer_->decode(ids_);
  const std::size_t stable = text.size() - trailing_replacement_bytes(text);
  if (stable <= emitted_) return {};
  std::string fresh = text.substr(emitted_, stable - emitted_);
  emitted_ = stable;
  return fresh;
}

std::string StreamingDecoder::finish() {
  const std::string text = tokenizer_->decode(ids_);
  std::string rest = text.size() > emitted_ ? text.substr(emitted_) : std::string();
  reset();
  return rest;
}

void StreamingDecoder::reset() {
  ids_.clear();
  emitted_ = 0;
}

// --- training ---------------------------------------------------------------------------------

namespace {

// SentencePiece refuses longer sentences; skipping them here keeps the sample size honest.
constexpr std::size_t kMaxLineBytes = 4192;

// Calls visit(line) for each non-blank line of every input: plain text line by line, other
// formats document by document, split into lines.
template <typename Visit>
void for_each_training_line(const std::vector<std::filesystem::path>& inputs, Visit&& visit) {
  std::string line;
  for (const auto& path : inputs) {
    if (detect_corpus_format(path) == CorpusFormat::text) {
      LineReader lines(path);
      while (lines.next(line)) {
        if (!is_blank(line) && line.size() <= kMaxLineBytes) visit(line);
      }
      continue;
    }
    const auto documents = open_corpus(path);
    std::string document;
    while (documents->next(document)) {
      std::size_t pos = 0;
      while (pos <= document.size()) {
        auto end = document.find('\n', pos);
        if (end == std::string::npos) end = document.size();
        line.assign(document, pos, end - pos);
        pos = end + 1;
        if (!is_blank(line) && line.size() <= kMaxLineBytes) visit(line);
      }
    }
  }
}

// Uniform sample of `max_lines` lines (all when 0), by reservoir sampling with our own seeded
// generator, returned in corpus order. SentencePiece's built-in sampling is not steered by its
// seed when sentences come from an iterator (0.1.97), so it is bypassed: it trains on exactly
// these lines.
std::vector<std::string> sample_training_lines(const std::vector<std::filesystem::path>& inputs,
                                               std::int64_t max_lines, std::uint64_t seed,
                                               std::int64_t* total_lines) {
  std::vector<std::pair<std::int64_t, std::string>> sample;  // (line number, text)
  core::Rng rng(seed);
  std::int64_t seen = 0;
  for_each_training_line(inputs, [&](const std::string& line) {
    if (max_lines == 0 || seen < max_lines) {
      sample.emplace_back(seen, line);
    } else {
      const auto slot = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(seen + 1)));
      if (slot < max_lines) sample[static_cast<std::size_t>(slot)] = {seen, line};
    }
    ++seen;
  });
  *total_lines = seen;
  std::sort(sample.begin(), sample.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> lines;
  lines.reserve(sample.size());
  for (auto& entry : sample) lines.push_back(std::move(entry.second));
  return lines;
}

class VectorSentenceIterator final : public sentencepiece::SentenceIterator {
 public:
  explicit VectorSentenceIterator(const std::vector<std::string>& lines) : lines_(lines) {}
  bool done() const override { return position_ >= lines_.size(); }
  void Next() override { ++position_; }
  const std::string& value() const override { return lines_[position_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& lines_;
  std::size_t position_ = 0;
};

void validate(const TokenizerTrainOptions& options) {
  SIEVE_USER_CHECK(!options.inputs.empty(), "tokenizer training needs at least one input corpus");
  for (const auto& input : options.inputs) {
    std::error_code ec;
    SIEVE_USER_CHECK(std::filesystem::exists(input, ec), "tokenizer input '{}' does not exist",
                     input.string());
  }
  SIEVE_USER_CHECK(options.model_type == "bpe" || options.model_type == "unigram",
                   "tokenizer model type '{}' is not supported (expected 'bpe' or 'unigram')",
                   options.model_type);
  // 4 special pieces, plus 256 byte pieces with byte fallback, plus the characters themselves.
  const int minimum = options.byte_fallback ? 4 + 256 + 1 : 4 + 1;
  SIEVE_USER_CHECK(options.vocab_size >= minimum && options.vocab_size <= (1 << 24),
                   "tokenizer vocabulary size {} is out of range (expected {}..{}{})",
                   options.vocab_size, minimum, 1 << 24,
                   options.byte_fallback ? "; byte fallback reserves 256 ids" : "");
  SIEVE_USER_CHECK(options.character_coverage > 0.0 && options.character_coverage <= 1.0,
                   "character coverage {} is out of range (expected (0, 1])",
                   options.character_coverage);
  SIEVE_USER_CHECK(options.input_sentence_size >= 0,
                   "input sentence size {} is negative (expected a line count, or 0 for all "
                   "lines)",
                   options.input_sentence_size);
  SIEVE_USER_CHECK(!options.model_prefix.empty() && !options.model_prefix.filename().empty(),
                   "tokenizer model prefix '{}' is not a file prefix (expected e.g. "
                   "out/tokenizer)",
                   options.model_prefix.string());
  const auto parent = options.model_prefix.parent_path();
  std::error_code ec;
  SIEVE_USER_CHECK(parent.empty() || std::filesystem::is_directory(parent, ec),
                   "output directory '{}' for the tokenizer does not exist", parent.string());
}

}  // namespace

void train_tokenizer(const TokenizerTrainOptions& options) {
  validate(options);
  const int threads = options.num_threads > 0 ? options.num_threads : core::num_threads();
  const std::unordered_map<std::string, std::string> args = {
      {"model_type", options.model_type},
      {"vocab_size", std::to_string(options.vocab_size)},
      {"character_coverage", std::to_string(options.character_coverage)},
      {"input_sentence_size", "0"},  // the sample is drawn here, see sample_training_lines
      {"num_threads", std::to_string(threads)},
      {"byte_fallback", options.byte_fallback ? "true" : "false"},
      // See NOTE [Tokenizer normalisation].
      {"normalization_rule_name", "identity"},
      {"remove_extra_whitespaces", "false"},
      {"allow_whitespace_only_pieces", "true"},
      {"split_digits", "true"},
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", "3"},
      {"minloglevel", options.verbose ? "0" : "2"},
  };

  std::int64_t total_lines = 0;
  const std::vector<std::string> lines = sample_training_lines(
      options.inputs, options.input_sentence_size, options.seed, &total_lines);
  SIEVE_USER_CHECK(!lines.empty(), "tokenizer inputs hold no text (every line is blank)");

  VectorSentenceIterator iterator(lines);
  std::string model_bytes;
  // Nothing random should remain (the sample is ours, BPE and unigram EM are deterministic);
  // seeding SentencePiece's generator anyway pins down anything a future version adds.
  sentencepiece::SetRandomGeneratorSeed(static_cast<unsigned>(options.seed));
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &iterator, &model_bytes);
  SIEVE_USER_CHECK(status.ok(),
                   "tokenizer training failed ({} vocabulary, {} model, {} of {} lines): {}",
                   options.vocab_size, options.model_type, lines.size(), total_lines,
                   readable(status, ""));

  // The .vocab listing (piece TAB score), as spm_train writes it; for people, not for loading.
  sentencepiece::SentencePieceProcessor trained;
  const auto loaded =
      trained.LoadFromSerializedProto(absl::string_view(model_bytes.data(), model_bytes.size()));
  SIEVE_CHECK(loaded.ok(), "trained tokenizer does not load: {}", loaded.ToString());
  std::string vocab;
  for (int id = 0; id < trained.GetPieceSize(); ++id) {
    vocab += fmt::format("{}\t{}\n", trained.IdToPiece(id), trained.GetScore(id));
  }
  const std::string prefix = options.model_prefix.string();
  core::write_file_atomically(prefix + ".model", model_bytes);
  core::write_file_atomically(prefix + ".vocab", vocab);
}

}  // namespace sieve::data
