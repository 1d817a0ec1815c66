#include "sieve/multimodal/trifashion_inputs.h"

#include <algorithm>

#include "sieve/core/error.h"

namespace sieve::multimodal {

namespace {

std::size_t split_index(tf::Split split) { return static_cast<std::size_t>(split); }

nn::ImageBatch image_batch(const tf::ImageSet& images, std::span<const std::int64_t> indices) {
  const std::int64_t pixels = images.height * images.width;
  std::vector<std::uint8_t> data(static_cast<std::size_t>(pixels) * indices.size());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    SIEVE_CHECK(indices[i] >= 0 && indices[i] < images.count, "image index {} out of range", indices[i]);
    std::copy_n(images.image(indices[i]), pixels, data.begin() + static_cast<std::ptrdiff_t>(i * pixels));
  }
  return {nn::normalize_pixels(data, static_cast<std::int64_t>(indices.size()), images.height, images.width)};
}

}  // namespace

TrifashionInputs::TrifashionInputs(const tf::Dataset& dataset, const nn::TriModalConfig& config)
    : dataset_(dataset), config_(config), tokenizer_(data::Tokenizer::load(dataset.tokenizer_model)) {
  SIEVE_USER_CHECK(tokenizer_.vocab_size() <= config_.vocab_size,
                   "the data set's tokenizer has {} pieces, more than the model's vocab_size {}",
                   tokenizer_.vocab_size(), config_.vocab_size);
  SIEVE_USER_CHECK(dataset_.spoken.n_mels() == config_.n_mels,
                   "the data set's log-mel features have {} bins, the model takes {}", dataset_.spoken.n_mels(),
                   config_.n_mels);
  SIEVE_USER_CHECK(static_cast<std::int64_t>(dataset_.class_names.size()) == config_.num_classes &&
                       static_cast<std::int64_t>(dataset_.answers.size()) == config_.num_answers &&
                       static_cast<std::int64_t>(dataset_.class_words.size()) == config_.num_words,
                   "the data set has {} classes and {} answers; the model has {} classes, {} words and {} answers",
                   dataset_.class_names.size(), dataset_.answers.size(), config_.num_classes, config_.num_words,
                   config_.num_answers);
  SIEVE_USER_CHECK(tf::kSceneSide <= config_.max_image_side && tf::kItemSide % config_.image_patch == 0,
                   "the model's images (patch {}, up to {} pixels) do not fit the data set's {}- and {}-pixel images",
                   config_.image_patch, config_.max_image_side, tf::kItemSide, tf::kSceneSide);
  for (const tf::Split split : {tf::Split::kTrain, tf::Split::kTest}) {
    const tf::SplitData& data = this->split(split);
    const std::size_t s = split_index(split);
    for (const tf::Caption& c : data.captions) caption_tokens_[s].push_back(tokenize_text(tokenizer_, c.text, config_.max_text_tokens));
    for (const tf::Question& q : data.questions) question_tokens_[s].push_back(tokenize_text(tokenizer_, q.text, config_.max_text_tokens));
    for (const tf::MatchingPair& p : data.pairs) pair_tokens_[s].push_back(tokenize_text(tokenizer_, p.text, config_.max_text_tokens));
  }
  // Spoken words: a word utterance's text is a class word.
  std::vector<int> word_of_utterance(dataset_.utterances.size(), -1);
  for (std::size_t u = 0; u < dataset_.utterances.size(); ++u) {
    const tf::Utterance& utterance = dataset_.utterances[u];
    if (utterance.kind != tf::UtteranceKind::kWord) continue;
    const auto it = std::find(dataset_.class_words.begin(), dataset_.class_words.end(), utterance.text);
    if (it != dataset_.class_words.end()) word_of_utterance[u] = static_cast<int>(it - dataset_.class_words.begin());
  }
  utterance_clip_.assign(dataset_.utterances.size(), -1);
  const auto& clips = dataset_.spoken.clips;
  for (std::size_t i = 0; i < clips.size(); ++i) {
    const auto utterance = static_cast<std::size_t>(clips[i].utterance_id);
    if (clips[i].kind == data::audio::UtteranceKind::word) {
      if (word_of_utterance[utterance] >= 0)
        word_clips_[static_cast<std::size_t>(clips[i].split)].push_back({i, word_of_utterance[utterance]});
    } else if (utterance_clip_[utterance] < 0) {
      utterance_clip_[utterance] = static_cast<std::int64_t>(i);
    }
  }
}

namespace {

// Token lists `indices` of `lists` as one batch, zero-padded to the longest.
nn::TextBatch padded_batch(const std::vector<std::vector<std::int32_t>>& lists, std::span<const std::int64_t> indices) {
  std::int64_t width = 1;
  for (const std::int64_t i : indices) {
    SIEVE_CHECK(i >= 0 && i < static_cast<std::int64_t>(lists.size()), "text index {} out of range", i);
    width = std::max<std::int64_t>(width, static_cast<std::int64_t>(lists[static_cast<std::size_t>(i)].size()));
  }
  nn::TextBatch batch;
  batch.ids = core::Tensor::zeros({static_cast<std::int64_t>(indices.size()), width}, core::DType::i64);
  auto* ids = batch.ids.data<std::int64_t>();
  for (std::size_t row = 0; row < indices.size(); ++row) {
    const auto& tokens = lists[static_cast<std::size_t>(indices[row])];
    for (std::size_t t = 0; t < tokens.size(); ++t) ids[row * width + t] = tokens[t];
    batch.lengths.push_back(static_cast<std::int64_t>(tokens.size()));
  }
  return batch;
}

}  // namespace

std::vector<std::int32_t> tokenize_text(const data::Tokenizer& tokenizer, const std::string& text,
                                        std::int64_t max_tokens) {
  std::vector<std::int32_t> ids = tokenizer.encode(text);
  SIEVE_USER_CHECK(!ids.empty(), "cannot encode an empty text");
  if (static_cast<std::int64_t>(ids.size()) > max_tokens) ids.resize(static_cast<std::size_t>(max_tokens));
  return ids;
}

nn::TextBatch text_batch(const data::Tokenizer& tokenizer, std::span<const std::string> texts,
                         std::int64_t max_tokens) {
  std::vector<std::vector<std::int32_t>> lists;
  std::vector<std::int64_t> indices;
  for (const std::string& text : texts) {
    indices.push_back(static_cast<std::int64_t>(lists.size()));
    lists.push_back(tokenize_text(tokenizer, text, max_tokens));
  }
  return padded_batch(lists, indices);
}


nn::ImageBatch TrifashionInputs::items(tf::Split split, std::span<const std::int64_t> indices) const {
  return image_batch(this->split(split).classification.images, indices);
}

nn::ImageBatch TrifashionInputs::scenes(tf::Split split, std::span<const std::int64_t> indices) const {
  return image_batch(this->split(split).scenes.images, indices);
}

nn::TextBatch TrifashionInputs::caption_texts(tf::Split split, std::span<const std::int64_t> indices) const {
  return padded_batch(caption_tokens_[split_index(split)], indices);
}

nn::TextBatch TrifashionInputs::question_texts(tf::Split split, std::span<const std::int64_t> indices) const {
  return padded_batch(question_tokens_[split_index(split)], indices);
}

nn::TextBatch TrifashionInputs::pair_texts(tf::Split split, std::span<const std::int64_t> indices) const {
  return padded_batch(pair_tokens_[split_index(split)], indices);
}

nn::AudioBatch TrifashionInputs::clips(std::span<const std::size_t> clips) const {
  const data::audio::SpokenSet& spoken = dataset_.spoken;
  const std::int64_t mels = spoken.n_mels();
  nn::AudioBatch batch;
  std::int64_t width = 1;
  for (const std::size_t c : clips) {
    SIEVE_CHECK(c < spoken.clips.size(), "clip index {} out of range", c);
    const std::int64_t frames = std::min<std::int64_t>(spoken.clips[c].frames, config_.max_audio_frames());
    batch.frames.push_back(std::max<std::int64_t>(frames, 1));
    width = std::max(width, batch.frames.back());
  }
  batch.features = core::Tensor::zeros({static_cast<std::int64_t>(clips.size()), width, mels, 1});
  float* out = batch.features.data<float>();
  for (std::size_t row = 0; row < clips.size(); ++row) {
    const std::span<const float> features = spoken.features(clips[row]);
    const auto values = static_cast<std::size_t>(batch.frames[row] * mels);
    if (features.size() < values) continue;  // an empty clip: one silent frame
    nn::normalize_log_mel(features.first(values), {out + row * static_cast<std::size_t>(width * mels), values});
  }
  return batch;
}

std::int64_t TrifashionInputs::utterance_clip(std::int64_t utterance) const {
  if (utterance < 0 || utterance >= static_cast<std::int64_t>(utterance_clip_.size())) return -1;
  return utterance_clip_[static_cast<std::size_t>(utterance)];
}

}  // namespace sieve::multimodal
