#include "sieve/data/prepare.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "sieve/core/error.h"
#include "sieve/core/atomic_file.h"
#include "sieve/data/corpus.h"
#include "sieve/data/token_shard.h"

namespace sieve::data {
namespace {

using Clock = std::chrono::steady_clock;

// Documents are encoded in groups this large (or this many bytes), in parallel, then appended
// in order — so the shards are identical for any thread count.
constexpr std::size_t kGroupDocuments = 1024;
constexpr std::size_t kGroupBytes = std::size_t{4} << 20;

void encode_group(const Tokenizer& tokenizer, const std::vector<std::string>& documents,
                  std::vector<std::vector<std::int32_t>>& encoded, int num_threads) {
  encoded.resize(documents.size());
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::atomic<bool> failed{false};
  auto work = [&] {
    try {
      for (std::size_t i = next++; i < documents.size() && !failed; i = next++) {
        encoded[i] = tokenizer.encode(documents[i]);
      }
    } catch (...) {
      if (!failed.exchange(true)) error = std::current_exception();
    }
  };
  const int helpers = std::min<int>(num_threads, static_cast<int>(documents.size())) - 1;
  std::vector<std::thread> threads;
  for (int t = 0; t < helpers; ++t) threads.emplace_back(work);
  work();
  for (auto& thread : threads) thread.join();
  if (error) std::rethrow_exception(error);
}

std::string format_duration(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

// One progress line, rewritten in place on a terminal, printed every few seconds otherwise.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled), tty_(::isatty(STDERR_FILENO) != 0) {}

  void update(std::size_t corpus, std::size_t corpora, std::int64_t documents,
              std::int64_t text_bytes, double fraction_of_corpus, bool final = false) {
    if (!enabled_) return;
    const auto now = Clock::now();
    const double since_print = std::chrono::duration<double>(now - last_print_).count();
    if (!final && since_print < (tty_ ? 0.5 : 5.0)) return;
    last_print_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    std::string eta = "--:--";
    const double corpus_elapsed = std::chrono::duration<double>(now - corpus_start_).count();
    if (fraction_of_corpus > 0.01) {
      eta = format_duration(corpus_elapsed * (1.0 - fraction_of_corpus) / fraction_of_corpus);
    }
    const std::string line = fmt::format(
        "prepare: corpus {}/{} {:5.1f}%  {} documents  {:.1f} MB  {:.0f} docs/s  {:.2f} MB/s  "
        "{} {}",
        corpus, corpora, 100.0 * fraction_of_corpus, documents, text_bytes / 1e6,
        elapsed > 0 ? documents / elapsed : 0.0, elapsed > 0 ? text_bytes / 1e6 / elapsed : 0.0,
        final ? "elapsed" : "ETA", final ? format_duration(elapsed) : eta);
    // On a terminal: return to column 0, print, clear the rest of the old line.
    std::fprintf(stderr, tty_ ? "\r%s\x1b[K%s" : "%s%s", line.c_str(),
                 (final || !tty_) ? "\n" : "");
    std::fflush(stderr);
  }
  void start_corpus() { corpus_start_ = Clock::now(); }

 private:
  bool enabled_;
  bool tty_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point corpus_start_ = Clock::now();
  Clock::time_point last_print_{};
};

void validate(const Tokenizer& tokenizer, const PrepareOptions& options) {
  SIEVE_USER_CHECK(!options.corpora.empty(), "dataset preparation needs at least one corpus");
  for (const auto& corpus : options.corpora) {
    std::error_code ec;
    SIEVE_USER_CHECK(std::filesystem::exists(corpus, ec), "corpus '{}' does not exist",
                     corpus.string());
  }
  SIEVE_USER_CHECK(!options.out_dir.empty(), "dataset output directory is empty");
  validate_split_options(options.split);
  SIEVE_USER_CHECK(options.max_documents >= 0 && options.max_bytes >= 0,
                   "document/byte caps must be >= 0 (0 = no cap), got {} and {}",
                   options.max_documents, options.max_bytes);
  SIEVE_USER_CHECK(options.num_threads >= 1, "thread count {} must be at least 1",
                   options.num_threads);
  SIEVE_USER_CHECK(tokenizer.eos_id() >= 0,
                   "the tokenizer has no EOS id; token shards separate documents with it");
}

}  // namespace

PrepareResult prepare_dataset(const Tokenizer& tokenizer, const PrepareOptions& options) {
  validate(tokenizer, options);
  const auto start = Clock::now();
  std::error_code ec;
  std::filesystem::create_directories(options.out_dir, ec);
  SIEVE_USER_CHECK(std::filesystem::is_directory(options.out_dir),
                   "cannot create dataset directory '{}': {}", options.out_dir.string(),
                   ec ? ec.message() : "not a directory");

  PrepareResult result;
  result.train_path = options.out_dir / "train.bin";
  result.val_path = options.out_dir / "val.bin";
  TokenShardWriter train(result.train_path, tokenizer.vocab_size(), tokenizer.eos_id());
  TokenShardWriter val(result.val_path, tokenizer.vocab_size(), tokenizer.eos_id());

  Progress progress(options.progress);
  std::uint64_t document_index = 0;
  bool capped = false;
  std::vector<std::string> group;
  std::vector<std::vector<std::int32_t>> encoded;

  const auto flush_group = [&] {
    encode_group(tokenizer, group, encoded, options.num_threads);
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (assign_split(document_index++, options.split) == Split::validation) {
        val.append_document(encoded[i]);
      } else {
        train.append_document(encoded[i]);
      }
    }
    group.clear();
  };

  for (std::size_t c = 0; c < options.corpora.size() && !capped; ++c) {
    const auto& path = options.corpora[c];
    const auto reader = open_corpus(path);
    progress.start_corpus();
    std::int64_t corpus_documents = 0;
    std::size_t group_bytes = 0;
    std::string document;
    const auto fraction = [&] {
      const double total = static_cast<double>(reader->bytes_total());
      return total > 0 ? std::min(1.0, reader->bytes_consumed() / total) : 0.0;
    };
    while (reader->next(document)) {
      ++corpus_documents;
      result.text_bytes += static_cast<std::int64_t>(document.size());
      group_bytes += document.size();
      group.push_back(std::move(document));
      const std::int64_t total_documents = static_cast<std::int64_t>(document_index + group.size());
      capped = (options.max_documents > 0 && total_documents >= options.max_documents) ||
               (options.max_bytes > 0 && result.text_bytes >= options.max_bytes);
      if (group.size() >= kGroupDocuments || group_bytes >= kGroupBytes || capped) {
        flush_group();
        group_bytes = 0;
        progress.update(c + 1, options.corpora.size(), static_cast<std::int64_t>(document_index),
                        result.text_bytes, fraction());
      }
      if (capped) break;
    }
    if (!group.empty()) flush_group();
    SIEVE_USER_CHECK(corpus_documents > 0,
                     "corpus '{}' contains no documents (expected non-blank {} text)",
                     path.string(), corpus_format_name(detect_corpus_format(path)));
    progress.update(c + 1, options.corpora.size(), static_cast<std::int64_t>(document_index),
                    result.text_bytes, capped ? 1.0 : fraction(),
                    c + 1 == options.corpora.size() || capped);
  }

  result.train_documents = train.document_count();
  result.val_documents = val.document_count();
  result.train_tokens = train.token_count();
  result.val_tokens = val.token_count();
  SIEVE_USER_CHECK(result.train_documents > 0,
                   "no document went to the training split ({} documents, validation fraction "
                   "{}); lower the validation fraction",
                   document_index, options.split.val_fraction);
  SIEVE_USER_CHECK(options.split.val_fraction == 0.0 || result.val_documents > 0,
                   "no document went to the validation split ({} documents, validation fraction "
                   "{}); raise the fraction or add documents",
                   document_index, options.split.val_fraction);
  train.commit();
  val.commit();

  nlohmann::json info;
  info["format"] = "sieve-token-dataset";
  info["version"] = 1;
  info["corpora"] = nlohmann::json::array();
  for (const auto& corpus : options.corpora) info["corpora"].push_back(corpus.string());
  info["val_fraction"] = options.split.val_fraction;
  info["split_seed"] = options.split.seed;
  info["max_documents"] = options.max_documents;
  info["max_bytes"] = options.max_bytes;
  info["capped"] = capped;
  info["text_bytes"] = result.text_bytes;
  info["vocab_size"] = tokenizer.vocab_size();
  info["eos_id"] = tokenizer.eos_id();
  info["train"] = {{"file", "train.bin"},
                   {"documents", result.train_documents},
                   {"tokens", result.train_tokens}};
  info["val"] = {{"file", "val.bin"},
                 {"documents", result.val_documents},
                 {"tokens", result.val_tokens}};
  core::write_file_atomically(options.out_dir / "dataset.json", info.dump(2) + "\n");

  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace sieve::data
