// `sieve import --from pytorch PATH`: a PyTorch state dict (pytorch_model.bin / .pt) with its
// Hugging Face LLaMA config and SentencePiece tokenizer as a Sieve model directory
// (docs/conversion.md). The checkpoint is read by the restricted unpickler: nothing in it runs.
#include <cstdio>
#include <filesystem>

#include "apps/sieve/conversion_formats.h"
#include "sieve/convert_torch/checkpoint_reader.h"
#include "sieve/convert_torch/llama_state_dict.h"
#include "sieve/core/error.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"

namespace sieve::apps {

namespace fs = std::filesystem;

namespace {

// --flag's file, or `default_name` beside the checkpoint; a missing one → UserError saying which.
fs::path companion_file(const std::string& flag_value, const char* flag, const fs::path& checkpoint,
                        const char* default_name, const char* what) {
  if (!flag_value.empty()) {
    SIEVE_USER_CHECK(fs::is_regular_file(flag_value), "{} {}: no such file", flag, flag_value);
    return flag_value;
  }
  const fs::path beside = checkpoint.parent_path() / default_name;
  SIEVE_USER_CHECK(fs::is_regular_file(beside), "no {} beside {}: give {} FILE ({})", default_name,
                   checkpoint.string(), flag, what);
  return beside;
}

bool same_file(const fs::path& a, const fs::path& b) { return fs::weakly_canonical(a) == fs::weakly_canonical(b); }

}  // namespace

void import_pytorch(const ImportRequest& request) {
  SIEVE_USER_CHECK(fs::is_regular_file(request.source), "{}: no such checkpoint file", request.source.string());
  const fs::path config = companion_file(request.config, "--config", request.source, io::kConfigFile,
                                         "the model's Hugging Face LLaMA config.json");
  const fs::path tokenizer = companion_file(request.tokenizer, "--tokenizer", request.source, io::kTokenizerFile,
                                            "the model's SentencePiece tokenizer.model");
  SIEVE_USER_CHECK(!same_file(config, request.out_dir / io::kConfigFile) &&
                       !same_file(tokenizer, request.out_dir / io::kTokenizerFile),
                   "--out {} holds the checkpoint's config or tokenizer: give another directory",
                   request.out_dir.string());
  (void)data::Tokenizer::load(tokenizer);  // a broken tokenizer fails here, before anything is written
  const nlohmann::json config_json = io::read_config_json(config);
  const convert_torch::TorchCheckpoint checkpoint = convert_torch::TorchCheckpoint::open_file(request.source);
  const convert_torch::ImportSummary summary =
      convert_torch::import_llama_checkpoint(checkpoint, config_json, config.string(), request.out_dir);
  fs::copy_file(tokenizer, request.out_dir / io::kTokenizerFile, fs::copy_options::overwrite_existing);
  std::string dtypes;
  for (const std::string& dtype : summary.dtypes) dtypes += (dtypes.empty() ? "" : ", ") + dtype;
  std::printf("imported %zu tensors (%s, stored as float32) from %s into %s, with %s and %s\n", summary.parameters,
              dtypes.c_str(), request.source.c_str(), request.out_dir.c_str(), config.c_str(), tokenizer.c_str());
  for (const std::string& skipped : summary.skipped) std::printf("  skipped %s\n", skipped.c_str());
}

}  // namespace sieve::apps
