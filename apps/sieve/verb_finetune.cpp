// `sieve finetune`: continue training a saved model directory on a corpus, either fully or with
// LoRA adapters (--lora: the base frozen, only the adapters trained and saved, as
// out/adapter.safetensors; --merge also writes the merged model to out/merged). --qat trains
// through fake quantization (compress/qat.h) so that `sieve quantize` with the same scheme loses
// less.
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "apps/sieve/attention_flags.h"
#include "apps/sieve/finetune.h"
#include "apps/sieve/run_command.h"
#include "apps/sieve/verbs.h"
#include "sieve/io/adapters.h"
#include "sieve/io/model_dir.h"
#include "sieve/train/precision_choice.h"

namespace sieve::apps {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_finetune_stop{false};

extern "C" void on_finetune_interrupt(int) { g_finetune_stop.store(true); }

void copy_tokenizer(const fs::path& from_dir, const fs::path& to_dir) {
  const fs::path target = to_dir / io::kTokenizerFile;
  if (fs::exists(target) && fs::equivalent(from_dir / io::kTokenizerFile, target)) return;
  fs::copy_file(from_dir / io::kTokenizerFile, target, fs::copy_options::overwrite_existing);
}

}  // namespace

void run_finetune(FinetuneRequest args, const std::atomic<bool>* stop) {
  const fs::path model_dir(args.model_dir), out_dir(args.out_dir);
  train::check_precision_mode(args.run.precision);
  SIEVE_USER_CHECK(!args.merge || args.lora, "--merge needs --lora (a full fine-tune already saves a whole model)");
  SIEVE_USER_CHECK(args.qat.empty() || !args.lora,
                   "--qat trains every weight through fake quantization; it does not combine with --lora");
  SIEVE_USER_CHECK(fs::exists(model_dir / io::kTokenizerFile),
                   "model directory '{}' has no {} (the corpus is tokenized with the model's own tokenizer)",
                   model_dir.string(), io::kTokenizerFile);
  std::unique_ptr<nn::LlamaForCausalLM> model = io::load_model(model_dir);
  // The base model's config decides how its sparse layers run (adapters must fit the model that
  // eval/generate --adapter will load), so finetuning only says so.
  if (const std::string note = sparse_mode_note(model->config(), (model_dir / io::kConfigFile).string());
      !note.empty())
    std::fprintf(stderr, "%s\n", note.c_str());
  const train::TrainerOptions trainer_options = settle_training_run(args.run, *model, out_dir);
  const data::Tokenizer tokenizer = data::Tokenizer::load(model_dir / io::kTokenizerFile);
  SIEVE_USER_CHECK(tokenizer.vocab_size() <= model->config().vocab_size,
                   "the tokenizer has {} pieces but the model's vocab_size is {}", tokenizer.vocab_size(),
                   model->config().vocab_size);
  fs::create_directories(out_dir);
  const data::PrepareResult dataset = prepare_training_data(args.run, tokenizer, out_dir);

  if (args.lora) {
    const auto paths = nn::apply_lora(*model, args.lora_options);
    std::fprintf(stderr, "LoRA: rank %lld, alpha %g, dropout %g on %zu linear layers ('%s')\n",
                 static_cast<long long>(args.lora_options.rank), args.lora_options.alpha,
                 static_cast<double>(args.lora_options.dropout), paths.size(), args.lora_options.targets.c_str());
  }
  if (!args.qat.empty()) {
    args.qat_options.scheme = args.qat;
    const auto paths = compress::apply_qat(*model, args.qat_options);
    std::fprintf(stderr, "QAT: %s fake quantization on %zu linear layers\n", args.qat.c_str(), paths.size());
  }
  std::printf("%s\n", nn::trainable_share_line(*model).c_str());
  std::fflush(stdout);

  train::Trainer trainer(*model, data::TokenShard::open(dataset.train_path), data::TokenShard::open(dataset.val_path),
                         trainer_options);
  write_command_file(out_dir, "finetune");
  const train::TrainResult result = trainer.run(stop);
  std::printf("validation perplexity: %.2f before, %.2f after %lld steps (%.0f tokens/s)\n",
              std::exp(result.initial_val_loss), std::exp(result.final_val_loss),
              static_cast<long long>(result.steps_done), result.tokens_per_second);

  if (!args.lora) {
    io::save_model(*model, out_dir);
    copy_tokenizer(model_dir, out_dir);
    std::printf("model saved to %s (config.json, model.safetensors, tokenizer.model)\n", out_dir.c_str());
    if (args.qat == "int8")
      std::printf("quantize it with: sieve quantize --model %s --out DIR --scheme int8\n", out_dir.c_str());
    if (args.qat == "int4")
      std::printf("quantize it with: sieve quantize --model %s --out DIR --scheme int4 --group-size %lld\n",
                  out_dir.c_str(), static_cast<long long>(args.qat_options.group_size));
    return;
  }
  io::save_adapters(*model, args.lora_options, out_dir / io::kAdapterFile);
  std::printf("adapters saved to %s (base model: %s)\n", (out_dir / io::kAdapterFile).c_str(), model_dir.c_str());
  if (args.merge) {
    const fs::path merged = out_dir / "merged";
    io::save_merged_model(*model, merged);
    copy_tokenizer(model_dir, merged);
    std::printf("merged model saved to %s\n", merged.c_str());
  }
}

void add_finetune_verb(CLI::App& app) {
  auto args = std::make_shared<FinetuneRequest>();
  CLI::App* cmd = app.add_subcommand("finetune", "Fine-tune a saved model on a corpus, fully or with LoRA adapters");
  cmd->add_option("--model", args->model_dir, "Base model directory (config.json, model.safetensors, tokenizer.model)")
      ->required();
  cmd->add_option("--out", args->out_dir, "Run directory (created): adapter.safetensors or the model, checkpoints")
      ->required();
  cmd->add_flag("--lora", args->lora, "Train LoRA adapters on a frozen base instead of every weight");
  cmd->add_option("--lora-rank", args->lora_options.rank, "LoRA rank r")->capture_default_str();
  cmd->add_option("--lora-alpha", args->lora_options.alpha, "LoRA alpha (the update is scaled by alpha / r)")
      ->capture_default_str();
  cmd->add_option("--lora-dropout", args->lora_options.dropout, "Dropout on the adapters' input")->capture_default_str();
  cmd->add_option("--lora-targets", args->lora_options.targets,
                  "Linear layers to adapt: attn, mlp, all-linear, or comma-separated globs over names like "
                  "model.layers.0.self_attn.q_proj (a glob matching a module selects the Linears inside it)")
      ->capture_default_str();
  cmd->add_option("--lora-seed", args->lora_options.seed, "Adapter initialisation seed")->capture_default_str();
  cmd->add_flag("--merge", args->merge, "Also write the base with the adapters merged in to OUT/merged");
  cmd->add_option("--qat", args->qat,
                  "Quantization-aware training for int8 (weights and activations) or int4 (weights): the "
                  "validation loss reported is the fake-quantized model's")
      ->check(CLI::IsMember({"int8", "int4"}));
  cmd->add_option("--qat-group-size", args->qat_options.group_size, "int4 group size (a multiple of 32 from 32 to 128)")
      ->capture_default_str();
  add_training_run_flags(cmd, args->run);
  cmd->callback([args] {
    std::signal(SIGINT, on_finetune_interrupt);
    std::signal(SIGTERM, on_finetune_interrupt);
    run_finetune(*args, &g_finetune_stop);
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  });
}

}  // namespace sieve::apps
