#include "sieve/nn/adapters/lora.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/nn/activation_checkpoint.h"
#include "sieve/nn/attention/sparse.h"
#include "sieve/ops/arithmetic.h"
#include "sieve/ops/dropout.h"

namespace sieve::nn {
namespace {

// `*` any run (dots included), `?` one character; the whole text must match.
bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  while (true) {
    const std::size_t dot = path.find('.', begin);
    parts.push_back(path.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin));
    if (dot == std::string::npos) return parts;
    begin = dot + 1;
  }
}

// Whether `glob` matches some run of whole components of `path` (see NOTE [LoRA target patterns]).
bool matches_components(const std::string& glob, const std::string& path) {
  const std::vector<std::string> parts = split_path(path);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string run;
    for (std::size_t j = i; j < parts.size(); ++j) {
      run += (j == i ? "" : ".") + parts[j];
      if (glob_match(glob, run)) return true;
    }
  }
  return false;
}

std::string trim(std::string_view s) {
  const auto begin = s.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  const auto end = s.find_last_not_of(" \t");
  return std::string(s.substr(begin, end - begin + 1));
}

std::string last_component(const std::string& path) {
  const std::size_t dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

// Paths of the modules that are sparse-attention layers (local-only layers excluded): the
// "sparse_attention" target selects the Linears inside them — q/k/v/o and the scorer's input
// projection; not the scorer's S→1 output layer, too narrow for a low-rank update.
std::vector<std::string> sparse_attention_paths(const Module& root) {
  std::vector<std::string> out;
  for (auto& [path, module] : root.named_modules()) {
    const auto* sparse = dynamic_cast<const SparseAttention*>(module.get());
    if (sparse != nullptr && sparse->scorer() != nullptr) out.push_back(path + ".");
  }
  return out;
}

bool is_attention_projection(const std::string& path) {
  for (const char* name : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj"})
    if (path == name || path.ends_with(std::string(".") + name)) return true;
  return false;
}

// The importance scorer's S→1 output layer: one output, too narrow for a low-rank update, so no
// named alias selects it.
bool is_scorer_output(const std::string& path) { return path.ends_with("scorer.out"); }

bool selects(const std::string& entry, const std::string& path, const std::vector<std::string>& sparse_paths) {
  if (entry == "all-linear") return last_component(path) != "lm_head" && !is_scorer_output(path);
  if (entry == "sparse_attention")
    return !is_scorer_output(path) &&
           std::any_of(sparse_paths.begin(), sparse_paths.end(),
                       [&](const std::string& prefix) { return path.starts_with(prefix); });
  if (entry == "attn" || entry == "attn.*" || entry == "attention" || entry == "self_attn")
    return is_attention_projection(path);
  return matches_components(entry, path);
}

std::vector<std::pair<std::string, std::shared_ptr<Linear>>> linears(const Module& root) {
  std::vector<std::pair<std::string, std::shared_ptr<Linear>>> out;
  for (auto& [path, module] : root.named_modules()) {
    auto linear = std::dynamic_pointer_cast<Linear>(module);
    if (linear == nullptr) continue;
    const std::string last = last_component(path);
    if (last == "lora_A" || last == "lora_B") continue;  // adapter factors, not targets
    out.emplace_back(path, std::move(linear));
  }
  return out;
}

std::string with_commas(std::int64_t value) {
  const std::string digits = std::to_string(value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0 && digits[i - 1] != '-') out += ',';
    out += digits[i];
  }
  return out;
}

void check_lora_options(const LoraOptions& options, std::int64_t in_features, std::int64_t out_features) {
  SIEVE_USER_CHECK(options.rank >= 1, "LoRA rank must be at least 1, got {}", options.rank);
  SIEVE_USER_CHECK(options.rank <= std::min(in_features, out_features),
                   "LoRA rank {} exceeds the smaller side of a {}x{} layer", options.rank, out_features, in_features);
  SIEVE_USER_CHECK(options.dropout >= 0.0f && options.dropout < 1.0f, "LoRA dropout must be in [0, 1), got {}",
                   options.dropout);
  SIEVE_USER_CHECK(std::isfinite(options.alpha), "LoRA alpha must be a finite number, got {}", options.alpha);
}

}  // namespace

LoraAdapter::LoraAdapter(std::int64_t in_features, std::int64_t out_features, const LoraOptions& options,
                         core::Rng& rng)
    : rank_(options.rank),
      scale_(static_cast<float>(options.alpha / static_cast<double>(options.rank))),
      dropout_(options.dropout),
      dropout_seed_(rng.next_u64()) {
  check_lora_options(options, in_features, out_features);
  a_ = std::make_shared<Linear>(in_features, rank_, false, 0.0, rng);
  b_ = std::make_shared<Linear>(rank_, out_features, false, 0.0, rng);  // zeros: the start is the base model
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  float* a = a_->weight().data<float>();
  for (std::int64_t i = 0; i < a_->weight().numel(); ++i)
    a[i] = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
}

Tensor LoraAdapter::add_update(const Tensor& x, const Tensor& base_out, bool training) const {
  Tensor input = x;
  if (training && dropout_ > 0.0f) {
    // Through next_random_counter so a checkpointed block recomputes with the same mask.
    std::uint64_t key = dropout_seed_ + next_random_counter(dropout_calls_);
    input = ops::dropout(x, dropout_, core::splitmix64(key));
  }
  const Tensor update = b_->forward(a_->forward(input));  // [..., K] → [..., r] → [..., M]
  return ops::add(base_out, ops::scale(update, scale_));
}

Tensor LoraAdapter::delta() const {
  const std::int64_t rows = out_features(), cols = in_features();
  Tensor out = Tensor::empty({rows, cols});
  const Tensor a_weight = a_->weight().contiguous(), b_weight = b_->weight().contiguous();
  const float* a = a_weight.data<float>();  // [r, K]
  const float* b = b_weight.data<float>();  // [M, r]
  float* d = out.data<float>();
  const std::int64_t rank = rank_;
  const double scale = scale_;
  core::parallel_for(rows, 16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t m = begin; m < end; ++m)
      for (std::int64_t k = 0; k < cols; ++k) {
        double sum = 0.0;
        for (std::int64_t j = 0; j < rank; ++j) sum += static_cast<double>(b[m * rank + j]) * a[j * cols + k];
        d[m * cols + k] = static_cast<float>(scale * sum);
      }
  });
  return out;
}

void LoraAdapter::merge_into(const Tensor& weight) {
  SIEVE_CHECK(!merged_, "LoRA adapter is already merged");
  SIEVE_CHECK(weight.is_contiguous() && weight.dtype() == core::DType::f32, "LoRA merge needs a contiguous f32 weight");
  const Tensor d = delta();
  SIEVE_CHECK(weight.shape() == d.shape(), "LoRA merge: weight {} is not the adapter's {}",
              core::shape_string(weight.shape()), core::shape_string(d.shape()));
  float* w = weight.data<float>();
  const float* dd = d.data<float>();
  for (std::int64_t i = 0; i < weight.numel(); ++i) w[i] += dd[i];
  merged_ = true;
}

void LoraAdapter::unmerge_from(const Tensor& weight) {
  SIEVE_CHECK(merged_, "LoRA adapter is not merged");
  SIEVE_CHECK(weight.is_contiguous() && weight.dtype() == core::DType::f32, "LoRA unmerge needs a contiguous f32 weight");
  const Tensor d = delta();
  SIEVE_CHECK(weight.shape() == d.shape(), "LoRA unmerge: weight {} is not the adapter's {}",
              core::shape_string(weight.shape()), core::shape_string(d.shape()));
  float* w = weight.data<float>();
  const float* dd = d.data<float>();
  for (std::int64_t i = 0; i < weight.numel(); ++i) w[i] -= dd[i];
  merged_ = false;
}

std::vector<std::string> lora_target_paths(const Module& root, const std::string& targets) {
  std::vector<std::string> entries;
  std::size_t begin = 0;
  while (begin <= targets.size()) {
    const std::size_t comma = std::min(targets.find(',', begin), targets.size());
    std::string entry = trim(std::string_view(targets).substr(begin, comma - begin));
    if (!entry.empty()) entries.push_back(std::move(entry));
    begin = comma + 1;
  }
  SIEVE_USER_CHECK(!entries.empty(), "no LoRA targets given (use e.g. 'attn', 'mlp', 'all-linear' or 'q_proj,v_proj')");
  const auto layers = linears(root);
  const std::vector<std::string> sparse_paths = sparse_attention_paths(root);
  std::vector<std::string> selected;
  std::vector<bool> used(entries.size(), false);
  for (const auto& [path, linear] : layers) {
    bool any = false;
    for (std::size_t e = 0; e < entries.size(); ++e)
      if (selects(entries[e], path, sparse_paths)) used[e] = any = true;
    if (any) selected.push_back(path);
  }
  for (std::size_t e = 0; e < entries.size(); ++e)
    SIEVE_USER_CHECK(used[e],
                     "LoRA target pattern '{}' matches no linear layer (layers are named like '{}'; use 'attn', "
                     "'mlp', 'all-linear' or globs over such names)",
                     entries[e], layers.empty() ? std::string("none: the model has no linear layers") : layers[0].first);
  return selected;
}

std::vector<std::string> apply_lora(Module& root, const LoraOptions& options) {
  const std::vector<std::string> paths = lora_target_paths(root, options.targets);
  std::map<std::string, std::shared_ptr<Linear>> by_path;
  for (auto& [path, linear] : linears(root)) by_path.emplace(path, linear);
  // Every check before the first change: a failed call leaves the model as it was.
  for (const auto& path : paths) {
    const Linear& linear = *by_path.at(path);
    SIEVE_USER_CHECK(linear.adapter() == nullptr, "'{}' already has a LoRA adapter", path);
    SIEVE_USER_CHECK(options.rank <= std::min(linear.in_features(), linear.out_features()),
                     "LoRA targets '{}' select '{}', a {}x{} layer too narrow for rank {} (choose targets that "
                     "leave it out, or a rank of at most {})",
                     options.targets, path, linear.out_features(), linear.in_features(), options.rank,
                     std::min(linear.in_features(), linear.out_features()));
    check_lora_options(options, linear.in_features(), linear.out_features());
  }
  for (auto& [name, parameter] : root.named_parameters()) {
    parameter.set_requires_grad(false);
    parameter.zero_grad();
  }
  core::Rng rng(options.seed);
  for (const auto& path : paths) {
    Linear& linear = *by_path.at(path);
    linear.attach_adapter(std::make_shared<LoraAdapter>(linear.in_features(), linear.out_features(), options, rng));
  }
  return paths;
}

void merge_lora(Module& root) {
  for (auto& [path, linear] : linears(root))
    if (linear->adapter() != nullptr && !linear->adapter()->merged()) linear->adapter()->merge_into(linear->weight());
}

void unmerge_lora(Module& root) {
  for (auto& [path, linear] : linears(root))
    if (linear->adapter() != nullptr && linear->adapter()->merged()) linear->adapter()->unmerge_from(linear->weight());
}

bool is_lora_parameter(std::string_view name) {
  return name.ends_with(".lora_A.weight") || name.ends_with(".lora_B.weight");
}

NamedTensors lora_parameters(const Module& root) {
  NamedTensors out;
  for (auto& [name, tensor] : root.named_parameters())
    if (is_lora_parameter(name)) out.emplace_back(name, tensor);
  return out;
}

std::string trainable_share_line(const Module& root) {
  const std::int64_t trainable = root.trainable_parameter_count();
  const std::int64_t total = root.parameter_count();
  const double percent = total > 0 ? 100.0 * static_cast<double>(trainable) / static_cast<double>(total) : 0.0;
  return fmt::format("trainable parameters: {} of {} ({:.3f}%)", with_commas(trainable), with_commas(total), percent);
}

}  // namespace sieve::nn
