#include "sieve/compress/quantizable_layers.h"

#include <array>
#include <string_view>

namespace sieve::compress {
namespace {

bool is_quantizable_path(std::string_view path) {
  static constexpr std::array<std::string_view, 7> kProjections = {"q_proj",  "k_proj",  "v_proj",   "o_proj",
                                                                   "gate_proj", "up_proj", "down_proj"};
  if (path == "lm_head") return true;
  const std::size_t dot = path.rfind('.');
  const std::string_view last = dot == std::string_view::npos ? path : path.substr(dot + 1);
  for (const std::string_view name : kProjections)
    if (last == name) return true;
  return false;
}

}  // namespace

std::vector<std::pair<std::string, std::shared_ptr<nn::Linear>>> quantizable_linears(const nn::Module& model) {
  std::vector<std::pair<std::string, std::shared_ptr<nn::Linear>>> out;
  for (const auto& [path, module] : model.named_modules()) {
    auto linear = std::dynamic_pointer_cast<nn::Linear>(module);
    if (linear != nullptr && is_quantizable_path(path)) out.emplace_back(path, std::move(linear));
  }
  return out;
}

bool is_valid_int4_group_size(std::int64_t group_size) {
  return group_size == 32 || group_size == 64 || group_size == 128;
}

}  // namespace sieve::compress
