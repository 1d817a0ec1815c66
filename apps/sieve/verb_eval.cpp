// `sieve eval`: perplexity and next-token top-1 accuracy of a model directory (optionally with
// LoRA adapters) on a corpus (its validation split, or all of it); a line, or JSON with --json.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <unistd.h>

#include "apps/sieve/inference_model.h"
#include "apps/sieve/trifashion_eval.h"
#include "apps/sieve/verbs.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/data/batch_loader.h"
#include "sieve/data/corpus.h"
#include "sieve/data/corpus_registry.h"
#include "sieve/data/split.h"
#include "sieve/data/token_shard.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/model_dir.h"
#include "sieve/ops/loss.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::apps {
namespace {

namespace fs = std::filesystem;

struct EvalArgs {
  std::string task = "lm";
  TrifashionEvalRequest trifashion;  // --task trifashion: its own flags
  std::string model_dir;
  std::string corpus;
  std::string split = "val";
  double val_fraction = 0.01;
  std::uint64_t seed = 0;
  std::int64_t context = 0;
  std::int64_t batch = 8;
  std::int64_t max_windows = 0;
  std::int64_t max_documents = 0;
  bool json = false;
  InferenceModelFlags model_flags;  // attention overrides, --adapter
};

// Rows of logits [N, V] whose largest logit (the first, on a tie) is at the target's index.
std::int64_t count_top1_hits(const core::Tensor& logits, const core::Tensor& targets) {
  const std::int64_t N = logits.size(0), V = logits.size(1);
  const float* x = logits.data<float>();
  const std::int64_t* t = targets.data<std::int64_t>();
  std::int64_t hits = 0;
  for (std::int64_t r = 0; r < N; ++r) {
    const float* row = x + r * V;
    hits += std::max_element(row, row + V) - row == t[r];
  }
  return hits;
}

void run_eval(const EvalArgs& args) {
  SIEVE_USER_CHECK(args.split == "val" || args.split == "all", "--split must be 'val' or 'all', got '{}'", args.split);
  SIEVE_USER_CHECK(args.batch > 0, "--batch must be > 0, got {}", args.batch);
  const data::SplitOptions split{.val_fraction = args.val_fraction, .seed = args.seed};
  data::validate_split_options(split);
  const auto model = load_inference_model(args.model_dir, args.model_flags);
  const auto tokenizer = data::Tokenizer::load(fs::path(args.model_dir) / io::kTokenizerFile);
  const std::int64_t context = args.context > 0 ? args.context : model->config().max_position_embeddings;
  SIEVE_USER_CHECK(context <= model->config().max_position_embeddings,
                   "--context {} exceeds the model's max_position_embeddings ({})", context,
                   model->config().max_position_embeddings);

  // Tokenize the chosen documents into a temporary shard, then walk it in windows.
  const fs::path shard_path = fs::temp_directory_path() / fmt::format("sieve-eval-{}.bin", ::getpid());
  {
    data::TokenShardWriter writer(shard_path, tokenizer.vocab_size(), tokenizer.eos_id());
    std::uint64_t index = 0;
    data::for_each_document(data::resolve_corpus(args.corpus), [&](std::string_view document) {
      const bool keep = args.split == "all" || data::assign_split(index, split) == data::Split::validation;
      ++index;
      if (keep) writer.append_document(tokenizer.encode(document));
      return args.max_documents == 0 || static_cast<std::int64_t>(index) < args.max_documents;
    });
    writer.commit();
  }
  data::TokenShard shard = data::TokenShard::open(shard_path);
  fs::remove(shard_path);  // the mapping stays valid
  data::EvalWindows windows(std::move(shard), context, args.max_windows);
  autograd::NoGradGuard no_grad;
  double total = 0.0;
  std::int64_t rows = 0, tokens = 0, hits = 0;
  const std::int64_t V = model->config().vocab_size;
  while (auto batch = windows.next_batch(args.batch)) {
    const std::int64_t n = batch->inputs.size(0), count = batch->inputs.numel();
    const core::Tensor logits = ops::reshape(model->forward(batch->inputs), {count, V});  // [N, V]
    const core::Tensor targets = batch->targets.view({count});                             // [N]
    total += ops::cross_entropy(logits, targets).item() * static_cast<double>(n);
    hits += count_top1_hits(logits, targets);
    rows += n;
    tokens += count;
  }
  const double loss = total / static_cast<double>(rows);
  const double accuracy = static_cast<double>(hits) / static_cast<double>(tokens);
  if (args.json) {
    const nlohmann::json report{{"model", args.model_dir}, {"corpus", args.corpus},   {"split", args.split},
                                {"windows", rows},         {"context", context},      {"tokens", tokens},
                                {"loss", loss},            {"perplexity", std::exp(loss)}, {"top1_accuracy", accuracy}};
    std::printf("%s\n", report.dump().c_str());
    return;
  }
  std::printf("%s on %s (%s split, %lld windows of %lld tokens): loss %.4f, perplexity %.2f, top-1 accuracy %.2f%%\n",
              args.model_dir.c_str(), args.corpus.c_str(), args.split.c_str(), static_cast<long long>(rows),
              static_cast<long long>(context), loss, std::exp(loss), 100.0 * accuracy);
}

}  // namespace

void add_eval_verb(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "Perplexity of a model directory on a corpus, or a trimodal model's trifashion measurements");
  cmd->add_option("--model", args->model_dir, "Model directory")->required();
  add_inference_model_flags(cmd, args->model_flags);
  cmd->add_option("--data", args->corpus, "Corpus: gcide, foldoc, or a file (trifashion: the data set directory)")->required();
  cmd->add_option("--split", args->split, "val (the held-out documents training used) or all")->capture_default_str();
  cmd->add_option("--val-fraction", args->val_fraction, "Held-out share, as in training")->capture_default_str();
  cmd->add_option("--seed", args->seed, "Split seed, as in training")->capture_default_str();
  cmd->add_option("--context", args->context, "Tokens per window (default: the model's context)");
  cmd->add_option("--batch", args->batch, "Windows per forward pass")->capture_default_str();
  cmd->add_option("--max-windows", args->max_windows, "Evaluate at most N windows (0: all)");
  cmd->add_option("--max-documents", args->max_documents, "Read at most N documents of the corpus (0: all)");
  cmd->add_flag("--json", args->json,
                "Print one JSON line (loss, perplexity, top1_accuracy, windows, tokens) instead of the text line");
  cmd->add_option("--task", args->task, "lm (perplexity on a corpus) or trifashion (a trimodal model on a data set)")
      ->capture_default_str();
  CLI::Option* question_inputs = cmd->add_option(
      "--question-inputs", args->trifashion.question_inputs,
      "trifashion: what a question gives the model, a list of image, text, audio (default: as the model trained)");
  CLI::Option* corrupt = cmd->add_option(
      "--corrupt", args->trifashion.corrupt,
      "trifashion: replace one question input by another example's: none, image, text, audio (default: as trained)");
  CLI::Option* limit = cmd->add_option("--limit", args->trifashion.limit, "trifashion: examples per measurement (0: all)");
  CLI::Option* batch = cmd->get_option("--batch");
  cmd->callback([args, question_inputs, corrupt, limit, batch] {
    if (args->task == "trifashion") {
      TrifashionEvalRequest request = args->trifashion;
      request.model_dir = args->model_dir;
      request.data_dir = args->corpus;
      request.json = args->json;
      if (batch->count() > 0) request.batch = args->batch;
      run_trifashion_eval(request);
      return;
    }
    SIEVE_USER_CHECK(args->task == "lm", "--task must be lm or trifashion, got '{}'", args->task);
    for (const CLI::Option* option : {question_inputs, corrupt, limit})
      SIEVE_USER_CHECK(option->count() == 0, "{} is a flag of --task trifashion", option->get_name());
    run_eval(*args);
  });
}

}  // namespace sieve::apps
