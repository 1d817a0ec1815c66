// Which layers quantization touches: the Linears of the attention projections (q_proj, k_proj,
// v_proj, o_proj), the MLP (gate_proj, up_proj, down_proj) and an untied output head (lm_head)
// — nearly all of a model's multiply-adds and bytes. The embedding (a table lookup), the norms
// and a sparse layer's importance scorer (tiny, and its scores pick the tokens attention sees)
// stay in f32.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sieve/nn/layers.h"
#include "sieve/nn/module.h"

namespace sieve::compress {

// The quantizable Linears of `model` with their paths ("model.layers.0.self_attn.q_proj",
// "lm_head"), in registration order.
std::vector<std::pair<std::string, std::shared_ptr<nn::Linear>>> quantizable_linears(const nn::Module& model);

// INT4 group sizes the kernels take: 32, 64 or 128.
bool is_valid_int4_group_size(std::int64_t group_size);

}  // namespace sieve::compress
