// Activation checkpointing: run a block without keeping its activations and recompute them in
// backward, trading one extra forward of the block for the memory of everything it would save.
//
// NOTE [Activation checkpointing]: checkpoint(block, x) runs block(x) with grad mode off, so no
// op inside records a node or saves an activation; the only thing kept is x itself (a handle to
// its storage, not a copy). One node "checkpoint" is recorded on the output. Its backward:
//  1. makes a detached handle x' on x's storage (x' requires grad iff x did),
//  2. re-runs block(x') with grad mode on, under the precision policy and the random draws the
//     forward saw (see NOTE [Randomness under recomputation]), which rebuilds the block's graph,
//  3. calls autograd::backward on the recomputed output with the incoming gradient — a nested
//     (re-entrant) backward pass over that small graph; the block's trainable parameters are
//     leaves of it, so their .grad accumulates exactly as without checkpointing, and frozen
//     parameters (requires_grad false) get nothing,
//  4. returns x'.grad as the gradient of x.
// The recomputed graph lives only inside that node's backward, so at any time at most one
// block's activations exist (plus the block inputs of every checkpointed block).
//
// Because the block's parameters are invisible to the node, a node is recorded whenever grad
// mode is on, even when x does not require grad (the first block of a model whose embedding is
// frozen under LoRA still has trainable adapters). If nothing in the block is trainable either,
// the output is marked as requiring grad anyway and its backward recomputes and returns nothing.
//
// Contract for `block`: a pure function of its input and of module state that does not change
// between the forward and the backward (parameters, training flag). It must not write caches
// (no KV cache) and must draw any randomness through next_random_counter. It is copied into the
// graph, so what it captures must outlive the backward pass (capture modules by shared_ptr).
//
// NOTE [Randomness under recomputation]: the block runs twice, so a random op inside must draw
// the same values both times. Sieve's random ops are counter-based (ops::dropout takes an
// explicit seed), so the only state is the per-call counter a caller advances (LoRA dropout keeps
// one per adapter). A caller that takes its key as next_random_counter(counter) instead of
// counter++ is replayed exactly: in a checkpointed forward the value is logged; during that
// block's recomputation the logged values are handed back in the same order and the counter is
// left alone, so the counter advances once per training step with or without checkpointing.
// Draws during recomputation that do not match the log (another counter, or more or fewer draws)
// are an internal error, never a silently different mask.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "sieve/core/tensor.h"

namespace sieve::nn {

using CheckpointBlock = std::function<core::Tensor(const core::Tensor&)>;

// block(input), recomputed in backward instead of saved (see NOTE [Activation checkpointing]).
// With grad mode off it is exactly block(input). `name` labels the graph node (error messages).
core::Tensor checkpoint(const CheckpointBlock& block, const core::Tensor& input,
                        const std::string& name = "checkpoint");

// Returns counter++ outside a recomputation, and the value drawn at forward time during one
// (see NOTE [Randomness under recomputation]). `counter` identifies the random source.
std::uint64_t next_random_counter(std::uint64_t& counter);

}  // namespace sieve::nn
