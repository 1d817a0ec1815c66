#include "sieve/multimodal/evaluation.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "sieve/autograd/grad_mode.h"
#include "sieve/ops/contrastive.h"
#include "sieve/ops/loss.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::multimodal {

namespace {

// Grad off and the model in inference mode for the scope.
class InferenceScope {
 public:
  explicit InferenceScope(const nn::TriModalModel& model)
      : model_(const_cast<nn::TriModalModel&>(model)), was_training_(model.training()) {
    model_.set_training(false);
  }
  ~InferenceScope() { model_.set_training(was_training_); }
  InferenceScope(const InferenceScope&) = delete;
  InferenceScope& operator=(const InferenceScope&) = delete;

 private:
  autograd::NoGradGuard no_grad_;
  nn::TriModalModel& model_;
  bool was_training_;
};

std::int64_t capped(std::int64_t count, std::int64_t limit) { return limit > 0 ? std::min(count, limit) : count; }

// Calls f(first, end) over [0, count) in chunks of `batch`.
template <typename F>
void in_batches(std::int64_t count, std::int64_t batch, F&& f) {
  for (std::int64_t first = 0; first < count; first += batch) f(first, std::min(count, first + batch));
}

std::vector<std::int64_t> range(std::int64_t first, std::int64_t end) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(end - first));
  std::iota(out.begin(), out.end(), first);
  return out;
}

int argmax_row(const core::Tensor& logits, std::int64_t row) {
  const std::int64_t n = logits.size(1);
  const float* p = logits.data<float>() + row * n;
  return static_cast<int>(std::max_element(p, p + n) - p);
}

core::Tensor int64_tensor(const std::vector<std::int64_t>& values) {
  return core::Tensor::from_vector(values, {static_cast<std::int64_t>(values.size())});
}

// Accuracy and summed CE of logits [B, K] against labels.
void score_rows(const core::Tensor& logits_in, const std::vector<std::int64_t>& labels, double& correct, double& loss) {
  const core::Tensor logits = ops::contiguous(logits_in);
  for (std::size_t i = 0; i < labels.size(); ++i) correct += argmax_row(logits, static_cast<std::int64_t>(i)) == labels[i];
  loss += ops::cross_entropy(logits, int64_tensor(labels)).item() * static_cast<double>(labels.size());
}

}  // namespace

ClassificationScore fashion_classification(const nn::TriModalModel& model, const TrifashionInputs& inputs,
                                           const EvaluationOptions& options) {
  const InferenceScope scope(model);
  const tf::ClassificationSet& set = inputs.dataset().test.classification;
  ClassificationScore score;
  score.examples = capped(set.images.count, options.limit);
  double correct = 0.0, loss = 0.0;
  in_batches(score.examples, options.batch, [&](std::int64_t first, std::int64_t end) {
    const std::vector<std::int64_t> indices = range(first, end);
    std::vector<std::int64_t> labels;
    for (const std::int64_t i : indices) labels.push_back(set.labels[static_cast<std::size_t>(i)]);
    score_rows(model.classify_image(inputs.items(tf::Split::kTest, indices)), labels, correct, loss);
  });
  score.accuracy = correct / static_cast<double>(std::max<std::int64_t>(score.examples, 1));
  score.loss = loss / static_cast<double>(std::max<std::int64_t>(score.examples, 1));
  return score;
}

ClassificationScore spoken_words(const nn::TriModalModel& model, const TrifashionInputs& inputs,
                                 data::audio::ClipSplit split, const EvaluationOptions& options) {
  const InferenceScope scope(model);
  const std::vector<WordClip>& clips = inputs.word_clips(split);
  ClassificationScore score;
  score.examples = capped(static_cast<std::int64_t>(clips.size()), options.limit);
  double correct = 0.0, loss = 0.0;
  in_batches(score.examples, options.batch, [&](std::int64_t first, std::int64_t end) {
    std::vector<std::size_t> batch;
    std::vector<std::int64_t> labels;
    for (std::int64_t i = first; i < end; ++i) {
      batch.push_back(clips[static_cast<std::size_t>(i)].clip);
      labels.push_back(clips[static_cast<std::size_t>(i)].word);
    }
    score_rows(model.classify_spoken_word(inputs.clips(batch)), labels, correct, loss);
  });
  score.accuracy = correct / static_cast<double>(std::max<std::int64_t>(score.examples, 1));
  score.loss = loss / static_cast<double>(std::max<std::int64_t>(score.examples, 1));
  return score;
}

RetrievalScore retrieval(const nn::TriModalModel& model, const TrifashionInputs& inputs,
                         const EvaluationOptions& options) {
  const InferenceScope scope(model);
  const tf::SplitData& test = inputs.dataset().test;
  std::vector<std::int64_t> first_caption(static_cast<std::size_t>(test.scenes.images.count), -1);
  for (std::size_t c = test.captions.size(); c-- > 0;) first_caption[static_cast<std::size_t>(test.captions[c].scene)] = static_cast<std::int64_t>(c);
  std::vector<std::int64_t> scenes, captions;
  for (const std::int32_t scene : inputs.dataset().retrieval_pool) {
    if (first_caption[static_cast<std::size_t>(scene)] < 0) continue;
    scenes.push_back(scene);
    captions.push_back(first_caption[static_cast<std::size_t>(scene)]);
  }
  const std::int64_t pool = capped(static_cast<std::int64_t>(scenes.size()), options.limit);
  scenes.resize(static_cast<std::size_t>(pool));
  captions.resize(static_cast<std::size_t>(pool));
  RetrievalScore score;
  score.pool = pool;
  if (pool == 0) return score;
  std::vector<core::Tensor> image_parts, text_parts;
  in_batches(pool, options.batch, [&](std::int64_t first, std::int64_t end) {
    const std::span<const std::int64_t> s(scenes.data() + first, static_cast<std::size_t>(end - first));
    const std::span<const std::int64_t> c(captions.data() + first, static_cast<std::size_t>(end - first));
    image_parts.push_back(model.embed_image(inputs.scenes(tf::Split::kTest, s)));
    text_parts.push_back(model.embed_text(inputs.caption_texts(tf::Split::kTest, c)));
  });
  const core::Tensor images = ops::contiguous(ops::concat(image_parts, 0));  // [P, E]
  const core::Tensor texts = ops::contiguous(ops::concat(text_parts, 0));
  score.loss = ops::contrastive_loss(images, texts, model.log_temperature()).item();
  const std::int64_t dim = images.size(1);
  const auto normalised = [&](const core::Tensor& t) {
    std::vector<double> out(static_cast<std::size_t>(pool * dim));
    for (std::int64_t i = 0; i < pool; ++i) {
      const float* row = t.data<float>() + i * dim;
      double norm = 0.0;
      for (std::int64_t d = 0; d < dim; ++d) norm += static_cast<double>(row[d]) * row[d];
      norm = std::max(std::sqrt(norm), 1e-12);
      for (std::int64_t d = 0; d < dim; ++d) out[static_cast<std::size_t>(i * dim + d)] = row[d] / norm;
    }
    return out;
  };
  const std::vector<double> a = normalised(images), b = normalised(texts);
  std::vector<double> sim(static_cast<std::size_t>(pool * pool));  // [text, image]
  for (std::int64_t t = 0; t < pool; ++t)
    for (std::int64_t i = 0; i < pool; ++i) {
      double dot = 0.0;
      for (std::int64_t d = 0; d < dim; ++d) dot += b[static_cast<std::size_t>(t * dim + d)] * a[static_cast<std::size_t>(i * dim + d)];
      sim[static_cast<std::size_t>(t * pool + i)] = dot;
    }
  // Rank of the true match: how many candidates score strictly higher.
  double r1 = 0.0, r5 = 0.0, i2t = 0.0;
  for (std::int64_t q = 0; q < pool; ++q) {
    std::int64_t above_t2i = 0, above_i2t = 0;
    for (std::int64_t k = 0; k < pool; ++k) {
      above_t2i += sim[static_cast<std::size_t>(q * pool + k)] > sim[static_cast<std::size_t>(q * pool + q)];
      above_i2t += sim[static_cast<std::size_t>(k * pool + q)] > sim[static_cast<std::size_t>(q * pool + q)];
    }
    r1 += above_t2i == 0;
    r5 += above_t2i < 5;
    i2t += above_i2t == 0;
  }
  score.text_to_image_r1 = r1 / static_cast<double>(pool);
  score.text_to_image_r5 = r5 / static_cast<double>(pool);
  score.image_to_text_r1 = i2t / static_cast<double>(pool);
  return score;
}

MatchingScore matching(const nn::TriModalModel& model, const TrifashionInputs& inputs, const EvaluationOptions& options) {
  const InferenceScope scope(model);
  const std::vector<tf::MatchingPair>& pairs = inputs.dataset().test.pairs;
  MatchingScore score;
  score.examples = capped(static_cast<std::int64_t>(pairs.size()), options.limit);
  double tp = 0, fp = 0, fn = 0, tn = 0, loss = 0.0;
  in_batches(score.examples, options.batch, [&](std::int64_t first, std::int64_t end) {
    const std::vector<std::int64_t> indices = range(first, end);
    std::vector<std::int64_t> scenes;
    std::vector<float> targets;
    for (const std::int64_t i : indices) {
      scenes.push_back(pairs[static_cast<std::size_t>(i)].scene);
      targets.push_back(pairs[static_cast<std::size_t>(i)].match ? 1.0f : 0.0f);
    }
    const nn::ImageBatch image = inputs.scenes(tf::Split::kTest, scenes);
    const nn::TextBatch text = inputs.pair_texts(tf::Split::kTest, indices);
    const core::Tensor logits = ops::contiguous(model.match_logits(model.fuse({.image = &image, .text = &text}).fused));
    const core::Tensor target = core::Tensor::from_vector(targets, {static_cast<std::int64_t>(targets.size())});
    loss += ops::binary_cross_entropy_with_logits(logits, target).item() * static_cast<double>(targets.size());
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const bool predicted = logits.data<float>()[i] > 0.0f, actual = targets[i] > 0.5f;
      tp += predicted && actual;
      fp += predicted && !actual;
      fn += !predicted && actual;
      tn += !predicted && !actual;
    }
  });
  const double n = std::max<double>(static_cast<double>(score.examples), 1.0);
  score.precision = tp + fp > 0 ? tp / (tp + fp) : 0.0;
  score.recall = tp + fn > 0 ? tp / (tp + fn) : 0.0;
  score.f1 = tp > 0 ? 2.0 * tp / (2.0 * tp + fp + fn) : 0.0;
  score.accuracy = (tp + tn) / n;
  score.loss = loss / n;
  return score;
}

AnswerScore question_answering(const nn::TriModalModel& model, const TrifashionInputs& inputs,
                               const EvaluationOptions& options) {
  const InferenceScope scope(model);
  const std::vector<tf::Question>& questions = inputs.dataset().test.questions;
  AnswerScore score;
  score.examples = capped(static_cast<std::int64_t>(questions.size()), options.limit);
  std::array<double, tf::kQuestionTypeCount> correct_by_type{}, count_by_type{};
  double correct = 0.0, loss = 0.0, heldout_correct = 0.0, heldout = 0.0;
  std::vector<std::array<double, nn::kModalityCount>> alpha_sums;
  in_batches(score.examples, options.batch, [&](std::int64_t first, std::int64_t end) {
    const std::vector<std::int64_t> indices = range(first, end);
    const QuestionBatch batch = question_batch(inputs, tf::Split::kTest, indices, options.questions);
    const nn::FusionResult fused = model.fuse(batch.fusion_inputs());
    const core::Tensor logits = ops::contiguous(model.answer_logits(fused.fused));
    std::vector<std::int64_t> labels;
    for (const std::int64_t i : indices) labels.push_back(questions[static_cast<std::size_t>(i)].answer);
    loss += ops::cross_entropy(logits, int64_tensor(labels)).item() * static_cast<double>(labels.size());
    for (std::size_t r = 0; r < indices.size(); ++r) {
      const tf::Question& q = questions[static_cast<std::size_t>(indices[r])];
      const bool right = argmax_row(logits, static_cast<std::int64_t>(r)) == q.answer;
      correct += right;
      correct_by_type[static_cast<std::size_t>(q.type)] += right;
      count_by_type[static_cast<std::size_t>(q.type)] += 1;
      if (q.heldout) {
        heldout += 1;
        heldout_correct += right;
      }
    }
    alpha_sums.resize(fused.alphas.size());
    for (std::size_t l = 0; l < fused.alphas.size(); ++l)
      for (int m = 0; m < nn::kModalityCount; ++m)
        alpha_sums[l][m] += fused.alphas[l][m] * static_cast<double>(indices.size());
  });
  const double n = std::max<double>(static_cast<double>(score.examples), 1.0);
  score.accuracy = correct / n;
  score.loss = loss / n;
  for (std::size_t t = 0; t < count_by_type.size(); ++t)
    score.by_type[t] = count_by_type[t] > 0 ? correct_by_type[t] / count_by_type[t] : 0.0;
  score.heldout_accuracy = heldout > 0 ? heldout_correct / heldout : 0.0;
  for (auto& row : alpha_sums)
    for (double& a : row) a /= n;
  score.alphas = alpha_sums;
  return score;
}

nlohmann::json evaluate_trifashion(const nn::TriModalModel& model, const TrifashionInputs& inputs,
                                   const EvaluationOptions& options) {
  const auto rounded = [](double v) { return std::round(v * 1e4) / 1e4; };
  nlohmann::json out;
  const ClassificationScore fashion = fashion_classification(model, inputs, options);
  out["fashion_accuracy"] = rounded(fashion.accuracy);
  const RetrievalScore r = retrieval(model, inputs, options);
  out["retrieval_r1"] = rounded(r.text_to_image_r1);
  out["retrieval_r5"] = rounded(r.text_to_image_r5);
  out["image_to_text_r1"] = rounded(r.image_to_text_r1);
  out["retrieval_pool"] = r.pool;
  const MatchingScore m = matching(model, inputs, options);
  out["matching_f1"] = rounded(m.f1);
  out["matching_accuracy"] = rounded(m.accuracy);
  out["spoken_word_accuracy"] = rounded(spoken_words(model, inputs, data::audio::ClipSplit::test, options).accuracy);
  if (!inputs.word_clips(data::audio::ClipSplit::test_festival).empty())
    out["spoken_word_accuracy_festival"] =
        rounded(spoken_words(model, inputs, data::audio::ClipSplit::test_festival, options).accuracy);
  const AnswerScore a = question_answering(model, inputs, options);
  out["vqa_accuracy"] = rounded(a.accuracy);
  nlohmann::json by_type = nlohmann::json::object();
  for (int t = 0; t < tf::kQuestionTypeCount; ++t) by_type[std::string(tf::kQuestionTypeNames[t])] = rounded(a.by_type[t]);
  out["vqa_by_type"] = by_type;
  out["vqa_heldout_accuracy"] = rounded(a.heldout_accuracy);
  out["vqa_inputs"] = options.questions.describe();
  nlohmann::json alphas = nlohmann::json::array();
  for (const auto& row : a.alphas) {
    nlohmann::json layer = nlohmann::json::object();
    for (int m2 = 0; m2 < nn::kModalityCount; ++m2) layer[std::string(nn::kModalityNames[m2])] = rounded(row[m2]);
    alphas.push_back(layer);
  }
  out["alphas"] = alphas;
  out["fusion"] = std::string(nn::fusion_mode_name(model.config().fusion));
  return out;
}

}  // namespace sieve::multimodal
