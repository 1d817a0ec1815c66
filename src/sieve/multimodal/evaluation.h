// The trifashion measurements of a trimodal model on the test split (docs/multimodal.md):
// Fashion-MNIST classification, spoken-word classification on held-out voices (and on the second
// synthesiser), image↔text retrieval in the test pool, caption-image matching and question
// answering — each also as a loss, for validation during training.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "sieve/multimodal/question_inputs.h"

namespace sieve::multimodal {

struct EvaluationOptions {
  std::int64_t batch = 128;
  std::int64_t limit = 0;  // at most this many examples per measurement (0: all)
  QuestionInputs questions;
};

struct ClassificationScore {
  double accuracy = 0.0;
  double loss = 0.0;  // mean cross-entropy
  std::int64_t examples = 0;
};

struct RetrievalScore {
  double text_to_image_r1 = 0.0, text_to_image_r5 = 0.0, image_to_text_r1 = 0.0;
  double loss = 0.0;  // the contrastive loss over the pool (as one batch)
  std::int64_t pool = 0;
};

struct MatchingScore {
  double f1 = 0.0, accuracy = 0.0, precision = 0.0, recall = 0.0;
  double loss = 0.0;  // mean BCE
  std::int64_t examples = 0;
};

struct AnswerScore {
  double accuracy = 0.0;
  std::array<double, tf::kQuestionTypeCount> by_type{};
  double heldout_accuracy = 0.0;  // questions in held-out phrasings
  double loss = 0.0;
  std::int64_t examples = 0;
  // CMAF's α per fusion layer and modality, averaged over the examples (empty for concat).
  std::vector<std::array<double, nn::kModalityCount>> alphas;
};

ClassificationScore fashion_classification(const nn::TriModalModel& model, const TrifashionInputs& inputs,
                                           const EvaluationOptions& options);
ClassificationScore spoken_words(const nn::TriModalModel& model, const TrifashionInputs& inputs,
                                 data::audio::ClipSplit split, const EvaluationOptions& options);
// Text → image over the retrieval pool (each pool scene's first test caption is its query).
RetrievalScore retrieval(const nn::TriModalModel& model, const TrifashionInputs& inputs,
                         const EvaluationOptions& options);
MatchingScore matching(const nn::TriModalModel& model, const TrifashionInputs& inputs, const EvaluationOptions& options);
AnswerScore question_answering(const nn::TriModalModel& model, const TrifashionInputs& inputs,
                               const EvaluationOptions& options);

// Every measurement, as the JSON `sieve eval --task trifashion` prints: fashion_accuracy,
// retrieval_r1, retrieval_r5, image_to_text_r1, retrieval_pool, matching_f1, matching_accuracy,
// spoken_word_accuracy, spoken_word_accuracy_festival (when the set has festival clips),
// vqa_accuracy, vqa_by_type, vqa_heldout_accuracy, vqa_inputs, alphas, fusion.
nlohmann::json evaluate_trifashion(const nn::TriModalModel& model, const TrifashionInputs& inputs,
                                   const EvaluationOptions& options);

}  // namespace sieve::multimodal
