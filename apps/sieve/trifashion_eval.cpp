#include "apps/sieve/trifashion_eval.h"

#include <cstdio>
#include <filesystem>

#include "sieve/core/error.h"
#include "sieve/io/model_config.h"
#include "sieve/io/trimodal_model_dir.h"
#include "sieve/multimodal/evaluation.h"
#include "sieve/multimodal/staged_training.h"

namespace sieve::apps {

namespace fs = std::filesystem;

void run_trifashion_eval(const TrifashionEvalRequest& request) {
  SIEVE_USER_CHECK(request.limit >= 0, "--limit must be >= 0 (0: all), got {}", request.limit);
  SIEVE_USER_CHECK(request.batch > 0, "--batch must be > 0, got {}", request.batch);
  // The run's own question inputs unless the flags say otherwise.
  std::string inputs = "image,text,audio", corrupt = "none";
  const fs::path record_file = fs::path(request.model_dir) / multimodal::kRunRecordFile;
  if (fs::exists(record_file)) {
    const nlohmann::json record = io::read_config_json(record_file);
    if (record.contains("question_inputs") && record["question_inputs"].is_string())
      inputs = record["question_inputs"].get<std::string>();
    if (record.contains("corrupt") && record["corrupt"].is_string()) corrupt = record["corrupt"].get<std::string>();
  }
  if (!request.question_inputs.empty()) inputs = request.question_inputs;
  if (!request.corrupt.empty()) corrupt = request.corrupt;
  multimodal::EvaluationOptions options{.batch = request.batch, .limit = request.limit,
                                        .questions = multimodal::parse_question_inputs(inputs, "--question-inputs")};
  multimodal::parse_corruption(corrupt, options.questions, "--corrupt");

  const std::unique_ptr<nn::TriModalModel> model = io::load_trimodal_model(request.model_dir);
  const data::trifashion::Dataset dataset = data::trifashion::load(request.data_dir);
  const multimodal::TrifashionInputs model_inputs(dataset, model->config());
  nlohmann::json scores = multimodal::evaluate_trifashion(*model, model_inputs, options);
  if (request.json) {
    scores["model"] = request.model_dir;
    scores["data"] = request.data_dir;
    std::printf("%s\n", scores.dump().c_str());
    return;
  }
  std::printf("%s on %s (test split; questions: %s)\n", request.model_dir.c_str(), request.data_dir.c_str(),
              scores["vqa_inputs"].get<std::string>().c_str());
  std::printf("  fashion accuracy        %.2f%%\n", 100.0 * scores["fashion_accuracy"].get<double>());
  std::printf("  retrieval (pool %lld)    text→image R@1 %.2f%%, R@5 %.2f%%; image→text R@1 %.2f%%\n",
              scores["retrieval_pool"].get<long long>(), 100.0 * scores["retrieval_r1"].get<double>(),
              100.0 * scores["retrieval_r5"].get<double>(), 100.0 * scores["image_to_text_r1"].get<double>());
  std::printf("  matching                F1 %.2f%%, accuracy %.2f%%\n", 100.0 * scores["matching_f1"].get<double>(),
              100.0 * scores["matching_accuracy"].get<double>());
  std::printf("  spoken words            %.2f%% (held-out voices)", 100.0 * scores["spoken_word_accuracy"].get<double>());
  if (scores.contains("spoken_word_accuracy_festival"))
    std::printf(", %.2f%% (festival)", 100.0 * scores["spoken_word_accuracy_festival"].get<double>());
  std::printf("\n  VQA                     %.2f%% (", 100.0 * scores["vqa_accuracy"].get<double>());
  bool first = true;
  for (const auto& [type, accuracy] : scores["vqa_by_type"].items()) {
    std::printf("%s%s %.2f%%", first ? "" : ", ", type.c_str(), 100.0 * accuracy.get<double>());
    first = false;
  }
  std::printf("; held-out phrasings %.2f%%)\n", 100.0 * scores["vqa_heldout_accuracy"].get<double>());
  for (std::size_t l = 0; l < scores["alphas"].size(); ++l)
    std::printf("  CMAF alpha, layer %zu     %s\n", l, scores["alphas"][l].dump().c_str());
}

}  // namespace sieve::apps
