// Model inputs from a trifashion data set (data/trifashion/dataset.h): image, text and audio
// batches for the trimodal model (nn/models/trimodal), with every text tokenized once up front
// and the spoken clips indexed by utterance and by word.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sieve/data/tokenizer.h"
#include "sieve/data/trifashion/dataset.h"
#include "sieve/nn/models/trimodal/trimodal_model.h"

namespace sieve::multimodal {

namespace tf = data::trifashion;

// A spoken-word clip and the class it names.
struct WordClip {
  std::size_t clip = 0;
  int word = 0;
};

// A text's pieces, cut to `max_tokens`; an empty text is a core::UserError.
std::vector<std::int32_t> tokenize_text(const data::Tokenizer& tokenizer, const std::string& text,
                                        std::int64_t max_tokens);
// Texts as one padded batch (tokenize_text each).
nn::TextBatch text_batch(const data::Tokenizer& tokenizer, std::span<const std::string> texts,
                         std::int64_t max_tokens);

class TrifashionInputs {
 public:
  // Tokenizes every caption, question and pair text with the data set's tokenizer (cut to
  // max_text_tokens) and indexes the clips. Throws core::UserError when the data set does not
  // fit the model (vocabulary, mel bins, image sizes).
  TrifashionInputs(const tf::Dataset& dataset, const nn::TriModalConfig& config);

  const tf::Dataset& dataset() const { return dataset_; }
  const tf::SplitData& split(tf::Split split) const {
    return split == tf::Split::kTrain ? dataset_.train : dataset_.test;
  }

  // Images by index into the split's classification items or scenes.
  nn::ImageBatch items(tf::Split split, std::span<const std::int64_t> indices) const;
  nn::ImageBatch scenes(tf::Split split, std::span<const std::int64_t> indices) const;
  // Texts of records by index into the split's captions / questions / pairs.
  nn::TextBatch caption_texts(tf::Split split, std::span<const std::int64_t> indices) const;
  nn::TextBatch question_texts(tf::Split split, std::span<const std::int64_t> indices) const;
  nn::TextBatch pair_texts(tf::Split split, std::span<const std::int64_t> indices) const;
  // Clips by index into dataset().spoken.clips (standardised log-mel, cut to the model's
  // longest clip).
  nn::AudioBatch clips(std::span<const std::size_t> clips) const;

  // The spoken-word clips of a clip split (train: training voices; test: held-out voices;
  // test_festival: the second synthesiser).
  const std::vector<WordClip>& word_clips(data::audio::ClipSplit split) const {
    return word_clips_[static_cast<std::size_t>(split)];
  }
  // The clip that speaks utterance `utterance` in its own split (captions and questions have
  // exactly one), or -1.
  std::int64_t utterance_clip(std::int64_t utterance) const;

  std::int64_t max_text_tokens() const { return config_.max_text_tokens; }
  const data::Tokenizer& tokenizer() const { return tokenizer_; }

 private:
  using TokenLists = std::vector<std::vector<std::int32_t>>;

  const tf::Dataset& dataset_;
  nn::TriModalConfig config_;
  data::Tokenizer tokenizer_;
  TokenLists caption_tokens_[2], question_tokens_[2], pair_tokens_[2];  // by split
  std::vector<WordClip> word_clips_[3];
  std::vector<std::int64_t> utterance_clip_;  // by utterance id
};

}  // namespace sieve::multimodal
