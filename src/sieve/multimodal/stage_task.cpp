#include "sieve/multimodal/stage_task.h"

#include <algorithm>
#include <cmath>

#include "sieve/autograd/grad_mode.h"
#include "sieve/core/error.h"
#include "sieve/ops/arithmetic.h"
#include "sieve/ops/contrastive.h"
#include "sieve/ops/loss.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::multimodal {

namespace {

core::Tensor labels_tensor(const std::vector<std::int64_t>& labels) {
  return core::Tensor::from_vector(labels, {static_cast<std::int64_t>(labels.size())});
}

// Next-token cross-entropy of the causal text pass: position t predicts token t+1 of its row.
core::Tensor text_lm_loss(const nn::TriModalModel& model, const nn::TextBatch& text) {
  const core::Tensor logits = model.text_lm_logits(text);  // [B, T, V]
  const std::int64_t rows = logits.size(0), width = logits.size(1);
  std::vector<std::int64_t> targets(static_cast<std::size_t>(rows * width), ops::kIgnoreIndex);
  const auto* ids = text.ids.data<std::int64_t>();
  for (std::int64_t b = 0; b < rows; ++b)
    for (std::int64_t t = 0; t + 1 < text.lengths[static_cast<std::size_t>(b)]; ++t)
      targets[static_cast<std::size_t>(b * width + t)] = ids[b * width + t + 1];
  return ops::cross_entropy(ops::reshape(ops::contiguous(logits), {rows * width, logits.size(2)}),
                            labels_tensor(targets));
}

core::Tensor add_term(const core::Tensor& total, const core::Tensor& term, const char* name, train::LossTerms& terms) {
  terms[name] = term.item();
  return total.defined() ? ops::add(total, term) : term;
}

// Parameter-name prefixes that first train in each stage.
bool starts_with(const std::string& name, std::string_view prefix) { return name.rfind(prefix, 0) == 0; }

}  // namespace

std::string_view stage_name(Stage stage) {
  switch (stage) {
    case Stage::kUnimodal: return "unimodal";
    case Stage::kAlignment: return "alignment";
    case Stage::kFusion: return "fusion";
  }
  return "unimodal";
}

bool stage_trains(Stage stage, const std::string& name) {
  const bool alignment_part = starts_with(name, "image_projection") || starts_with(name, "text_projection") ||
                              starts_with(name, "audio_projection") || name == "log_temperature";
  const bool fusion_part = starts_with(name, "fusion.") || starts_with(name, "match_head") ||
                           starts_with(name, "answer_head");
  if (stage == Stage::kUnimodal) return !alignment_part && !fusion_part;
  if (stage == Stage::kAlignment) return !fusion_part;
  return true;
}

StageTask::StageTask(Stage stage, nn::TriModalModel& model, const TrifashionInputs& inputs, StageOptions options)
    : stage_(stage), model_(model), inputs_(inputs), options_(std::move(options)), rng_(options_.seed) {
  SIEVE_USER_CHECK(options_.batch >= 2, "--batch must be >= 2 (contrastive batches need negatives), got {}",
                   options_.batch);
  SIEVE_USER_CHECK(std::isfinite(options_.rehearsal) && options_.rehearsal >= 0.0 && options_.rehearsal <= 1.0,
                   "--rehearsal must be in [0, 1], got {}", options_.rehearsal);
  SIEVE_USER_CHECK(options_.paired_scenes >= 0, "--paired-scenes must be >= 0 (0: all), got {}", options_.paired_scenes);
  const tf::SplitData& train = inputs_.dataset().train;
  const auto paired = [&](std::int64_t scene) { return options_.paired_scenes == 0 || scene < options_.paired_scenes; };
  for (std::int64_t i = 0; i < train.classification.images.count; ++i) item_pool_.push_back(i);
  for (std::size_t i = 0; i < inputs_.word_clips(data::audio::ClipSplit::train).size(); ++i)
    word_pool_.push_back(static_cast<std::int64_t>(i));
  for (std::size_t i = 0; i < train.captions.size(); ++i)
    if (paired(train.captions[i].scene) && inputs_.utterance_clip(train.captions[i].utterance) >= 0)
      caption_pool_.push_back(static_cast<std::int64_t>(i));
  for (std::size_t i = 0; i < train.questions.size(); ++i)
    if (paired(train.questions[i].scene)) question_pool_.push_back(static_cast<std::int64_t>(i));
  for (std::size_t i = 0; i < train.pairs.size(); ++i)
    if (paired(train.pairs[i].scene)) pair_pool_.push_back(static_cast<std::int64_t>(i));
  SIEVE_USER_CHECK(!item_pool_.empty() && !word_pool_.empty(),
                   "the data set has no training images or spoken training words");
  SIEVE_USER_CHECK(stage_ == Stage::kUnimodal || (!caption_pool_.empty() && !question_pool_.empty() && !pair_pool_.empty()),
                   "stage {} needs captions, questions and pairs of the training scenes{}", stage_name(stage_),
                   options_.paired_scenes > 0 ? " (--paired-scenes leaves none)" : "");
}

nn::NamedTensors StageTask::trained_parameters() const {
  nn::NamedTensors out;
  for (auto& [name, parameter] : model_.named_parameters())
    if (stage_trains(stage_, name)) out.emplace_back(name, parameter);
  return out;
}

std::int64_t StageTask::share(Stage objective_stage) const {
  if (objective_stage == stage_) return options_.batch;
  if (objective_stage > stage_ || options_.rehearsal == 0.0) return 0;
  return std::max<std::int64_t>(2, std::llround(static_cast<double>(options_.batch) * options_.rehearsal));
}

std::int64_t StageTask::items_per_step(std::int64_t micro_batches) const {
  return options_.batch * micro_batches;
}

std::vector<std::int64_t> StageTask::draw(const std::vector<std::int64_t>& pool, std::int64_t count) {
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < count; ++i) out.push_back(pool[rng_.below(pool.size())]);
  return out;
}

void StageTask::begin_step(std::int64_t, std::int64_t micro_batches) {
  micro_batches_.clear();
  for (std::int64_t m = 0; m < micro_batches; ++m) {
    Draw d;
    const std::int64_t unimodal = share(Stage::kUnimodal), alignment = share(Stage::kAlignment),
                       fusion = share(Stage::kFusion);
    d.items = draw(item_pool_, unimodal);
    d.words = draw(word_pool_, unimodal);
    if (!caption_pool_.empty()) d.lm_captions = draw(caption_pool_, unimodal / 2);
    if (!question_pool_.empty()) d.lm_questions = draw(question_pool_, unimodal - unimodal / 2);
    if (alignment > 0) d.captions = draw(caption_pool_, alignment);
    if (fusion > 0) {
      d.pairs = draw(pair_pool_, fusion);
      d.questions = draw(question_pool_, fusion);
    }
    micro_batches_.push_back(std::move(d));
  }
}

core::Tensor StageTask::unimodal_loss(const Draw& d, train::LossTerms& terms) const {
  core::Tensor total;
  std::vector<std::int64_t> labels;
  for (const std::int64_t i : d.items) labels.push_back(inputs_.dataset().train.classification.labels[static_cast<std::size_t>(i)]);
  total = add_term(total, ops::cross_entropy(model_.classify_image(inputs_.items(tf::Split::kTrain, d.items)), labels_tensor(labels)),
                   "image_ce", terms);
  std::vector<std::size_t> clips;
  labels.clear();
  for (const std::int64_t w : d.words) {
    const WordClip& clip = inputs_.word_clips(data::audio::ClipSplit::train)[static_cast<std::size_t>(w)];
    clips.push_back(clip.clip);
    labels.push_back(clip.word);
  }
  total = add_term(total, ops::cross_entropy(model_.classify_spoken_word(inputs_.clips(clips)), labels_tensor(labels)),
                   "word_ce", terms);
  if (!d.lm_captions.empty() && !d.lm_questions.empty()) {
    const core::Tensor lm = ops::scale(
        ops::add(text_lm_loss(model_, inputs_.caption_texts(tf::Split::kTrain, d.lm_captions)),
                 text_lm_loss(model_, inputs_.question_texts(tf::Split::kTrain, d.lm_questions))),
        0.5f);
    total = add_term(total, lm, "text_lm", terms);
  }
  return total;
}

core::Tensor StageTask::alignment_loss(const Draw& d, train::LossTerms& terms) const {
  const std::vector<tf::Caption>& captions = inputs_.dataset().train.captions;
  std::vector<std::int64_t> scenes;
  std::vector<std::size_t> clips;
  for (const std::int64_t c : d.captions) {
    scenes.push_back(captions[static_cast<std::size_t>(c)].scene);
    clips.push_back(static_cast<std::size_t>(inputs_.utterance_clip(captions[static_cast<std::size_t>(c)].utterance)));
  }
  const core::Tensor text = model_.embed_text(inputs_.caption_texts(tf::Split::kTrain, d.captions));
  core::Tensor total;
  total = add_term(total,
                   ops::contrastive_loss(model_.embed_image(inputs_.scenes(tf::Split::kTrain, scenes)), text,
                                         model_.log_temperature()),
                   "image_text", terms);
  total = add_term(total, ops::contrastive_loss(model_.embed_audio(inputs_.clips(clips)), text, model_.log_temperature()),
                   "audio_text", terms);
  return total;
}

core::Tensor StageTask::fusion_loss(const Draw& d, train::LossTerms& terms) const {
  const tf::SplitData& train = inputs_.dataset().train;
  std::vector<std::int64_t> scenes;
  std::vector<float> targets;
  for (const std::int64_t p : d.pairs) {
    scenes.push_back(train.pairs[static_cast<std::size_t>(p)].scene);
    targets.push_back(train.pairs[static_cast<std::size_t>(p)].match ? 1.0f : 0.0f);
  }
  const nn::ImageBatch image = inputs_.scenes(tf::Split::kTrain, scenes);
  const nn::TextBatch text = inputs_.pair_texts(tf::Split::kTrain, d.pairs);
  core::Tensor total;
  total = add_term(total,
                   ops::binary_cross_entropy_with_logits(
                       model_.match_logits(model_.fuse({.image = &image, .text = &text}).fused),
                       core::Tensor::from_vector(targets, {static_cast<std::int64_t>(targets.size())})),
                   "match_bce", terms);
  const QuestionBatch questions = question_batch(inputs_, tf::Split::kTrain, d.questions, options_.questions);
  const nn::FusionResult fused = model_.fuse(questions.fusion_inputs());
  std::vector<std::int64_t> answers;
  for (const std::int64_t q : d.questions) answers.push_back(train.questions[static_cast<std::size_t>(q)].answer);
  total = add_term(total, ops::cross_entropy(model_.answer_logits(fused.fused), labels_tensor(answers)), "answer_ce",
                   terms);
  for (std::size_t l = 0; l < fused.alphas.size(); ++l)
    for (int m = 0; m < nn::kModalityCount; ++m)
      if (fused.alphas[l][m] > 0.0)
        terms["alpha.l" + std::to_string(l) + "." + std::string(nn::kModalityNames[m])] = fused.alphas[l][m];
  return total;
}

core::Tensor StageTask::micro_batch_loss(std::size_t index, train::LossTerms& terms) {
  const Draw& d = micro_batches_.at(index);
  core::Tensor total = unimodal_loss(d, terms);
  if (!d.captions.empty()) total = ops::add(total, alignment_loss(d, terms));
  if (!d.pairs.empty()) total = ops::add(total, fusion_loss(d, terms));
  return total;
}

std::string StageTask::term_label(const std::string& name) const {
  if (starts_with(name, "alpha.")) return "α " + name.substr(6);
  return name;
}

train::Evaluation StageTask::evaluate() {
  const ops::PrecisionScope precision(options_.precision);
  EvaluationOptions eval{.batch = 128, .limit = options_.eval_limit, .questions = options_.questions};
  train::Evaluation out;
  const ClassificationScore fashion = fashion_classification(model_, inputs_, eval);
  const ClassificationScore words = spoken_words(model_, inputs_, data::audio::ClipSplit::test, eval);
  out.metrics.push_back({"val_fashion_accuracy", "fashion acc", fashion.accuracy, 4});
  out.metrics.push_back({"val_spoken_word_accuracy", "word acc", words.accuracy, 4});
  out.loss = fashion.loss + words.loss;
  if (stage_ >= Stage::kAlignment) {
    const RetrievalScore r = retrieval(model_, inputs_, eval);
    out.metrics.push_back({"val_retrieval_r1", "R@1", r.text_to_image_r1, 4});
    out.loss += r.loss;
  }
  if (stage_ == Stage::kFusion) {
    const MatchingScore m = matching(model_, inputs_, eval);
    const AnswerScore a = question_answering(model_, inputs_, eval);
    out.metrics.push_back({"val_matching_f1", "match F1", m.f1, 4});
    out.metrics.push_back({"val_vqa_accuracy", "VQA acc", a.accuracy, 4});
    out.loss += m.loss + a.loss;
  }
  return out;
}

nlohmann::json StageTask::data_state() const { return {{"rng", rng_.state()}}; }

void StageTask::restore_data_state(const nlohmann::json& state) {
  rng_.set_state(state.at("rng").get<core::Rng::State>());
}

}  // namespace sieve::multimodal
