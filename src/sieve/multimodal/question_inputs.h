// Which modalities a question-answering example gives the model, and which one (if any) is
// corrupted: the ablations of docs/multimodal.md (question-only and image-only baselines; a
// corrupted modality to watch CMAF's α move away from it).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sieve/multimodal/trifashion_inputs.h"

namespace sieve::multimodal {

struct QuestionInputs {
  bool image = true;   // the scene
  bool text = true;    // the question's text
  bool audio = true;   // the question spoken (its clip)
  // A modality replaced by another example's (the batch rotated by one row): in distribution,
  // but no information about this example.
  std::optional<nn::Modality> corrupted;

  std::string describe() const;  // "image+text+audio", "image+text+audio, audio corrupted"
  std::string modality_list() const;  // "image,text,audio": what parse_question_inputs reads
  std::string corruption_name() const;  // "none", or the corrupted modality
};

// The items of a comma-separated flag value ("1,2,3" → "1", "2", "3"; "" → one empty item).
std::vector<std::string_view> split_list(std::string_view list);

// "image,text,audio" (any non-empty subset) → the modalities. Throws core::UserError naming `flag`.
QuestionInputs parse_question_inputs(std::string_view list, std::string_view flag);
// "none" | "image" | "text" | "audio"; the modality must be one of `inputs`.
void parse_corruption(std::string_view name, QuestionInputs& inputs, std::string_view flag);

// The fused forward inputs of questions `indices` of `split` (each batch owned by `storage`).
struct QuestionBatch {
  std::optional<nn::ImageBatch> image;
  std::optional<nn::TextBatch> text;
  std::optional<nn::AudioBatch> audio;
  nn::FusionInputs fusion_inputs() const;
};
QuestionBatch question_batch(const TrifashionInputs& inputs, tf::Split split, std::span<const std::int64_t> indices,
                             const QuestionInputs& which);

}  // namespace sieve::multimodal
