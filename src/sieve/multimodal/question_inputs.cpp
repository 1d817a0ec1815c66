#include "sieve/multimodal/question_inputs.h"

#include <array>

#include "sieve/core/error.h"

namespace sieve::multimodal {

namespace {

std::optional<nn::Modality> modality_named(std::string_view name) {
  for (int m = 0; m < nn::kModalityCount; ++m) {
    if (name == nn::kModalityNames[m]) return static_cast<nn::Modality>(m);
  }
  return std::nullopt;
}

// Row i takes row (i + 1) mod n's index: every row gets another example's input.
std::vector<std::int64_t> rotated(std::span<const std::int64_t> indices) {
  std::vector<std::int64_t> out(indices.begin(), indices.end());
  if (out.size() > 1) std::rotate(out.begin(), out.begin() + 1, out.end());
  return out;
}

}  // namespace

std::string QuestionInputs::describe() const {
  std::string out;
  const std::array<bool, nn::kModalityCount> given = {image, text, audio};
  for (int m = 0; m < nn::kModalityCount; ++m) {
    if (!given[m]) continue;
    if (!out.empty()) out += "+";
    out += nn::kModalityNames[m];
  }
  if (corrupted) out += ", " + std::string(nn::kModalityNames[static_cast<int>(*corrupted)]) + " corrupted";
  return out;
}

std::string QuestionInputs::modality_list() const {
  std::string out;
  const std::array<bool, nn::kModalityCount> given = {image, text, audio};
  for (int m = 0; m < nn::kModalityCount; ++m) {
    if (!given[m]) continue;
    if (!out.empty()) out += ",";
    out += nn::kModalityNames[m];
  }
  return out;
}

std::string QuestionInputs::corruption_name() const {
  return corrupted ? std::string(nn::kModalityNames[static_cast<int>(*corrupted)]) : "none";
}

std::vector<std::string_view> split_list(std::string_view list) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

QuestionInputs parse_question_inputs(std::string_view list, std::string_view flag) {
  QuestionInputs inputs{.image = false, .text = false, .audio = false};
  for (const std::string_view name : split_list(list)) {
    const std::optional<nn::Modality> m = modality_named(name);
    SIEVE_USER_CHECK(m.has_value(), "{}: '{}' is not a modality (image, text, audio)", flag, name);
    bool& given = *m == nn::Modality::kImage ? inputs.image : *m == nn::Modality::kText ? inputs.text : inputs.audio;
    SIEVE_USER_CHECK(!given, "{}: '{}' is listed twice", flag, name);
    given = true;
  }
  return inputs;
}

void parse_corruption(std::string_view name, QuestionInputs& inputs, std::string_view flag) {
  if (name == "none") {
    inputs.corrupted.reset();
    return;
  }
  const std::optional<nn::Modality> m = modality_named(name);
  SIEVE_USER_CHECK(m.has_value(), "{}: '{}' is not none, image, text or audio", flag, name);
  const bool given = *m == nn::Modality::kImage ? inputs.image : *m == nn::Modality::kText ? inputs.text : inputs.audio;
  SIEVE_USER_CHECK(given, "{} {}: that modality is not among the question inputs ({})", flag, name, inputs.describe());
  inputs.corrupted = m;
}

nn::FusionInputs QuestionBatch::fusion_inputs() const {
  return {.image = image ? &*image : nullptr, .text = text ? &*text : nullptr, .audio = audio ? &*audio : nullptr};
}

QuestionBatch question_batch(const TrifashionInputs& inputs, tf::Split split, std::span<const std::int64_t> indices,
                             const QuestionInputs& which) {
  const std::vector<tf::Question>& questions = inputs.split(split).questions;
  const auto source = [&](nn::Modality m) {
    return which.corrupted == m ? rotated(indices) : std::vector<std::int64_t>(indices.begin(), indices.end());
  };
  QuestionBatch batch;
  if (which.image) {
    std::vector<std::int64_t> scenes;
    for (const std::int64_t q : source(nn::Modality::kImage)) scenes.push_back(questions[static_cast<std::size_t>(q)].scene);
    batch.image = inputs.scenes(split, scenes);
  }
  if (which.text) batch.text = inputs.question_texts(split, source(nn::Modality::kText));
  if (which.audio) {
    std::vector<std::size_t> clips;
    for (const std::int64_t q : source(nn::Modality::kAudio)) {
      const std::int64_t clip = inputs.utterance_clip(questions[static_cast<std::size_t>(q)].utterance);
      SIEVE_USER_CHECK(clip >= 0, "question {} has no spoken clip in the data set", questions[static_cast<std::size_t>(q)].id);
      clips.push_back(static_cast<std::size_t>(clip));
    }
    batch.audio = inputs.clips(clips);
  }
  return batch;
}

}  // namespace sieve::multimodal
