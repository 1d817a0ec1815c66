// Model inputs from the tiny trifashion set: image batches standardised, text batches padded with
// their lengths, audio batches standardised per clip with zero padding, word clips labelled by
// their text, question batches with a modality left out or corrupted.
#include <gtest/gtest.h>

#include <cmath>

#include "multimodal_test_data.h"
#include "sieve/core/error.h"
#include "sieve/multimodal/question_inputs.h"
#include "sieve/multimodal/trifashion_inputs.h"

namespace sieve::multimodal {
namespace {

using testing::small_trifashion_config;
using testing::tiny_trifashion_dataset;

TEST(TrifashionInputs, BatchesHaveTheModelsShapesAndPadding) {
  SKIP_WITHOUT_TRIFASHION_SOURCES();
  const tf::Dataset& dataset = tiny_trifashion_dataset();
  nn::TriModalConfig config = small_trifashion_config();
  const TrifashionInputs inputs(dataset, config);

  const std::vector<std::int64_t> two = {0, 1};
  const nn::ImageBatch scenes = inputs.scenes(tf::Split::kTrain, two);
  EXPECT_EQ(scenes.pixels.shape(), (core::Shape{2, 56, 56, 1}));
  const nn::ImageBatch items = inputs.items(tf::Split::kTest, two);
  EXPECT_EQ(items.pixels.shape(), (core::Shape{2, 28, 28, 1}));
  // A background pixel (0) standardised with Fashion-MNIST's mean and std.
  EXPECT_NEAR(items.pixels.data<float>()[0], (0.0f - 0.2860f) / 0.3530f, 1e-5f);

  const nn::TextBatch text = inputs.caption_texts(tf::Split::kTrain, two);
  ASSERT_EQ(text.lengths.size(), 2u);
  EXPECT_EQ(text.ids.size(1), std::max(text.lengths[0], text.lengths[1]));
  const std::vector<std::int32_t> first = inputs.tokenizer().encode(dataset.train.captions[0].text);
  for (std::size_t t = 0; t < first.size(); ++t) EXPECT_EQ(text.ids.data<std::int64_t>()[t], first[t]);

  // Two clips of different lengths: the valid part has mean 0 and variance 1, the padding is 0.
  const auto& words = inputs.word_clips(data::audio::ClipSplit::train);
  ASSERT_GE(words.size(), 2u);
  std::size_t a = words[0].clip, b = a;
  for (const WordClip& w : words)
    if (dataset.spoken.clips[w.clip].frames != dataset.spoken.clips[a].frames) b = w.clip;
  ASSERT_NE(a, b);
  const std::vector<std::size_t> clips = {a, b};
  const nn::AudioBatch audio = inputs.clips(clips);
  const std::int64_t mels = config.n_mels, width = audio.features.size(1);
  for (std::size_t row = 0; row < 2; ++row) {
    EXPECT_EQ(audio.frames[row], dataset.spoken.clips[clips[row]].frames);
    double sum = 0.0, square = 0.0, padding = 0.0;
    const float* x = audio.features.data<float>() + row * static_cast<std::size_t>(width * mels);
    const std::int64_t valid = audio.frames[row] * mels;
    for (std::int64_t i = 0; i < valid; ++i) {
      sum += x[i];
      square += static_cast<double>(x[i]) * x[i];
    }
    for (std::int64_t i = valid; i < width * mels; ++i) padding += std::abs(x[i]);
    EXPECT_NEAR(sum / static_cast<double>(valid), 0.0, 1e-3);
    EXPECT_NEAR(square / static_cast<double>(valid), 1.0, 1e-2);
    EXPECT_EQ(padding, 0.0);
  }
}

TEST(TrifashionInputs, WordClipsAreLabelledWithTheClassTheySpeak) {
  SKIP_WITHOUT_TRIFASHION_SOURCES();
  const tf::Dataset& dataset = tiny_trifashion_dataset();
  const TrifashionInputs inputs(dataset, small_trifashion_config());
  for (const auto split : {data::audio::ClipSplit::train, data::audio::ClipSplit::test}) {
    ASSERT_FALSE(inputs.word_clips(split).empty());
    for (const WordClip& w : inputs.word_clips(split)) {
      const auto& clip = dataset.spoken.clips[w.clip];
      EXPECT_EQ(clip.split, split);
      EXPECT_EQ(dataset.utterances[static_cast<std::size_t>(clip.utterance_id)].text, dataset.class_words[w.word]);
    }
  }
  // Every caption and question has its own spoken clip.
  for (const tf::Question& q : dataset.test.questions) EXPECT_GE(inputs.utterance_clip(q.utterance), 0);
}

TEST(TrifashionInputs, RefusesAModelThatDoesNotFitTheDataSet) {
  SKIP_WITHOUT_TRIFASHION_SOURCES();
  nn::TriModalConfig config = small_trifashion_config();
  config.n_mels = 40;
  EXPECT_THROW(TrifashionInputs(tiny_trifashion_dataset(), config), core::UserError);
  config = small_trifashion_config();
  config.vocab_size = 100;
  EXPECT_THROW(TrifashionInputs(tiny_trifashion_dataset(), config), core::UserError);
  config = small_trifashion_config();
  config.num_answers = 5;
  EXPECT_THROW(TrifashionInputs(tiny_trifashion_dataset(), config), core::UserError);
}

TEST(QuestionInputs, LeavesOutAndCorruptsModalities) {
  SKIP_WITHOUT_TRIFASHION_SOURCES();
  const tf::Dataset& dataset = tiny_trifashion_dataset();
  const TrifashionInputs inputs(dataset, small_trifashion_config());
  const std::vector<std::int64_t> rows = {0, 1, 2};
  QuestionInputs which = parse_question_inputs("image,text", "--question-inputs");
  QuestionBatch batch = question_batch(inputs, tf::Split::kTest, rows, which);
  EXPECT_TRUE(batch.image && batch.text && !batch.audio);
  parse_corruption("text", which, "--corrupt");
  EXPECT_EQ(which.describe(), "image+text, text corrupted");
  batch = question_batch(inputs, tf::Split::kTest, rows, which);
  // Row i reads question i+1's text (rotated), so no row keeps its own.
  const nn::TextBatch expected = inputs.question_texts(tf::Split::kTest, std::vector<std::int64_t>{1, 2, 0});
  EXPECT_EQ(batch.text->lengths, expected.lengths);
  for (std::int64_t i = 0; i < expected.ids.numel(); ++i)
    EXPECT_EQ(batch.text->ids.data<std::int64_t>()[i], expected.ids.data<std::int64_t>()[i]);
  // The scenes are untouched.
  const nn::ImageBatch scenes = inputs.scenes(
      tf::Split::kTest, std::vector<std::int64_t>{dataset.test.questions[0].scene, dataset.test.questions[1].scene,
                                                  dataset.test.questions[2].scene});
  for (std::int64_t i = 0; i < scenes.pixels.numel(); ++i)
    ASSERT_EQ(batch.image->pixels.data<float>()[i], scenes.pixels.data<float>()[i]);

  EXPECT_THROW(parse_question_inputs("image,smell", "--question-inputs"), core::UserError);
  EXPECT_THROW(parse_question_inputs("image,image", "--question-inputs"), core::UserError);
  EXPECT_THROW(parse_question_inputs("", "--question-inputs"), core::UserError);
  QuestionInputs image_only = parse_question_inputs("image", "--question-inputs");
  EXPECT_THROW(parse_corruption("audio", image_only, "--corrupt"), core::UserError);
  EXPECT_THROW(parse_corruption("noise", image_only, "--corrupt"), core::UserError);
}

}  // namespace
}  // namespace sieve::multimodal
