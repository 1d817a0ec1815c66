// `sieve export --format pytorch`: a model directory as a PyTorch state dict (a torch.save zip
// checkpoint of float32 tensors under Hugging Face's LLaMA names; docs/conversion.md).
#include <cstdio>
#include <filesystem>

#include "apps/sieve/conversion_formats.h"
#include "sieve/convert_torch/checkpoint_writer.h"
#include "sieve/convert_torch/llama_state_dict.h"
#include "sieve/core/error.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"

namespace sieve::apps {

namespace fs = std::filesystem;

void export_pytorch(const ExportRequest& request) {
  SIEVE_USER_CHECK(request.type.empty(), "--type is for --format gguf; --format pytorch writes float32");
  const fs::path config = request.model_dir / io::kConfigFile;
  if (fs::is_regular_file(config))
    SIEVE_USER_CHECK(!io::read_config_json(config).contains(io::kQuantizationSection),
                     "{} is a quantized model directory: --format pytorch writes float32 state dicts and does not "
                     "dequantize; export the f32 model it was quantized from",
                     request.model_dir.string());
  SIEVE_USER_CHECK(!fs::is_directory(request.out), "--out {} is a directory; give the checkpoint's file name (model.bin)",
                   request.out.string());
  const auto model = io::load_model(request.model_dir);
  SIEVE_USER_CHECK(!model->config().pruned(),
                   "{}: a structurally pruned model (its 'pruning' section gives each layer its own head count and "
                   "MLP width) cannot be exported to PyTorch: Hugging Face's LlamaForCausalLM builds every layer "
                   "with the same widths. Use the model directory with sieve eval / generate / serve, or export an "
                   "unpruned model",
                   config.string());
  if (model->config().first_non_dense_layer())
    std::fprintf(stderr,
                 "note: %s has local or sparse attention layers: their parameters are exported under Sieve's names, "
                 "and Hugging Face's LlamaForCausalLM does not run them\n",
                 request.model_dir.c_str());
  const auto tensors = convert_torch::llama_state_dict(*model);
  convert_torch::save_torch_checkpoint(request.out, tensors);
  std::size_t bytes = 0;
  for (const auto& [name, tensor] : tensors) bytes += tensor.nbytes();
  std::printf("exported %zu tensors (%.1f MB of float32) of %s to %s; torch.load(path, weights_only=True) reads it, "
              "and %s is its Hugging Face config\n",
              tensors.size(), static_cast<double>(bytes) / 1e6, request.model_dir.c_str(), request.out.c_str(),
              config.c_str());
}

}  // namespace sieve::apps
