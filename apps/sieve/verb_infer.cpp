// `sieve infer`: a trimodal model directory on the user's own files — an image (PNG/PGM), a WAV
// file and/or texts — printing what the model makes of them: the item's class (a scene's per
// cell), the spoken word, how well each text matches the image or the audio, and the answer to a
// question (typed, or the WAV as the spoken question).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "apps/sieve/verbs.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/core/error.h"
#include "sieve/data/tokenizer.h"
#include "sieve/data/trifashion/vocabulary.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/trimodal_model_dir.h"
#include "sieve/multimodal/file_inputs.h"
#include "sieve/multimodal/trifashion_inputs.h"
#include "sieve/ops/activation.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::apps {
namespace {

namespace tf = data::trifashion;

struct InferArgs {
  std::string model_dir;
  std::string image;
  std::string audio;
  std::vector<std::string> texts;
  std::string question;
  int top = 3;
  bool json = false;
};

// The `top` largest of softmax(logits row 0), with their labels.
nlohmann::json top_labels(const core::Tensor& logits, const std::vector<std::string>& labels, int top) {
  const core::Tensor p = ops::contiguous(ops::softmax(logits));
  const auto n = static_cast<std::size_t>(p.size(-1));
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p.data<float>()[a] > p.data<float>()[b]; });
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < std::min<std::size_t>(n, static_cast<std::size_t>(top)); ++i)
    out.push_back({{"label", labels.at(order[i])}, {"probability", std::round(p.data<float>()[order[i]] * 1e4) / 1e4}});
  return out;
}

std::string describe_top(const nlohmann::json& top) {
  std::string out;
  for (const auto& entry : top)
    out += (out.empty() ? "" : ", ") + entry["label"].get<std::string>() + " " +
           fmt::format("{:.1f}%", 100.0 * entry["probability"].get<double>());
  return out;
}

double cosine(const core::Tensor& a_in, const core::Tensor& b_in) {
  const core::Tensor a = ops::contiguous(a_in), b = ops::contiguous(b_in);
  double dot = 0.0, na = 0.0, nb = 0.0;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    dot += static_cast<double>(a.data<float>()[i]) * b.data<float>()[i];
    na += static_cast<double>(a.data<float>()[i]) * a.data<float>()[i];
    nb += static_cast<double>(b.data<float>()[i]) * b.data<float>()[i];
  }
  return dot / std::max(std::sqrt(na * nb), 1e-12);
}

void run_infer(const InferArgs& args) {
  SIEVE_USER_CHECK(!args.image.empty() || !args.audio.empty(), "give --image FILE and/or --audio FILE");
  SIEVE_USER_CHECK(args.texts.empty() || !args.image.empty() || !args.audio.empty(),
                   "--text scores a text against --image or --audio");
  SIEVE_USER_CHECK(args.question.empty() || !args.image.empty(), "--question asks about an --image");
  SIEVE_USER_CHECK(args.top >= 1, "--top must be >= 1, got {}", args.top);
  const std::unique_ptr<nn::TriModalModel> model = io::load_trimodal_model(args.model_dir);
  const nn::TriModalConfig& config = model->config();
  const data::Tokenizer tokenizer = data::Tokenizer::load(std::filesystem::path(args.model_dir) / io::kTokenizerFile);
  const auto text_batch = [&](const std::string& text) {
    return multimodal::text_batch(tokenizer, std::span<const std::string>(&text, 1), config.max_text_tokens);
  };
  const autograd::NoGradGuard no_grad;
  model->set_training(false);
  std::optional<nn::ImageBatch> image;
  std::optional<nn::AudioBatch> audio;
  if (!args.image.empty()) image = multimodal::image_from_file(args.image, config);
  if (!args.audio.empty()) audio = multimodal::audio_from_file(args.audio, config);
  const std::vector<std::string> classes(tf::kClassWords.begin(), tf::kClassWords.end());
  const std::vector<std::string> answers = tf::answer_vocabulary();
  nlohmann::json out = nlohmann::json::object();
  std::vector<std::string> lines;

  if (image && image->pixels.size(1) == tf::kItemSide) {
    out["image_class"] = top_labels(model->classify_image(*image), classes, args.top);
    lines.push_back("image: " + describe_top(out["image_class"]));
  } else if (image && image->pixels.size(1) == tf::kSceneSide) {
    // A scene: each 28×28 cell through the item classifier.
    nlohmann::json cells = nlohmann::json::array();
    for (int cell = 0; cell < tf::kPositionCount; ++cell) {
      const std::int64_t row = cell / 2 * tf::kItemSide, column = cell % 2 * tf::kItemSide;
      const core::Tensor crop = ops::contiguous(ops::slice(
          ops::slice(image->pixels, 1, row, row + tf::kItemSide), 2, column, column + tf::kItemSide));
      const nlohmann::json top = top_labels(model->classify_image({crop}), classes, 1);
      cells.push_back({{"position", std::string(tf::kPositionNames[cell])}, {"class", top[0]}});
      lines.push_back("  " + std::string(tf::kPositionNames[cell]) + ": " + describe_top(top));
    }
    out["cells"] = cells;
    lines.insert(lines.end() - 4, "scene cells:");
  }
  if (audio && !(image && args.question.empty() && args.texts.empty())) {
    out["spoken_word"] = top_labels(model->classify_spoken_word(*audio), classes, args.top);
    lines.push_back("spoken word: " + describe_top(out["spoken_word"]));
  }
  if (!args.texts.empty()) {
    nlohmann::json scores = nlohmann::json::array();
    for (const std::string& text : args.texts) {
      const nn::TextBatch batch = text_batch(text);
      nlohmann::json entry = {{"text", text}};
      std::string line = "\"" + text + "\":";
      if (image) {
        const core::Tensor logit = model->match_logits(model->fuse({.image = &*image, .text = &batch}).fused);
        const double p = 1.0 / (1.0 + std::exp(-static_cast<double>(ops::contiguous(logit).data<float>()[0])));
        const double similarity = cosine(model->embed_image(*image), model->embed_text(batch));
        entry["match_probability"] = std::round(p * 1e4) / 1e4;
        entry["image_similarity"] = std::round(similarity * 1e4) / 1e4;
        line += fmt::format(" matches the image {:.1f}% (similarity {:.3f})", 100.0 * p, similarity);
      }
      if (audio) {
        const double similarity = cosine(model->embed_audio(*audio), model->embed_text(batch));
        entry["audio_similarity"] = std::round(similarity * 1e4) / 1e4;
        line += fmt::format("{} audio similarity {:.3f}", image ? ";" : "", similarity);
      }
      scores.push_back(entry);
      lines.push_back(line);
    }
    out["texts"] = scores;
  }
  // A question: typed (--question), spoken (--audio with --image and no --text), or both.
  const bool spoken_question = audio && image && args.texts.empty();
  if (!args.question.empty() || spoken_question) {
    std::optional<nn::TextBatch> question;
    if (!args.question.empty()) question = text_batch(args.question);
    const nn::FusionResult fused = model->fuse(
        {.image = &*image, .text = question ? &*question : nullptr, .audio = spoken_question ? &*audio : nullptr});
    out["answer"] = top_labels(model->answer_logits(fused.fused), answers, args.top);
    lines.push_back("answer: " + describe_top(out["answer"]));
  }
  if (args.json) {
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  for (const std::string& line : lines) std::printf("%s\n", line.c_str());
}

}  // namespace

void add_infer_verb(CLI::App& app) {
  auto args = std::make_shared<InferArgs>();
  CLI::App* cmd = app.add_subcommand(
      "infer", "Run a trimodal model (sieve train --task trifashion) on an image, a WAV file and/or texts");
  cmd->add_option("--model", args->model_dir, "Trimodal model directory")->required();
  cmd->add_option("--image", args->image, "Grey-scale PNG or PGM: a 28×28 item or a 56×56 scene");
  cmd->add_option("--audio", args->audio,
                  "WAV file: a spoken word; with --image and no --text, the spoken question about it");
  cmd->add_option("--text", args->texts, "A caption to score against the image and/or audio (repeatable)");
  cmd->add_option("--question", args->question, "A question about the --image scene");
  cmd->add_option("--top", args->top, "Labels shown per prediction")->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object instead of lines");
  cmd->callback([args] { run_infer(*args); });
}

}  // namespace sieve::apps
