// A SentencePiece tokenizer as llama.cpp's tokenizer.ggml.* metadata, and back.
//   tokenizer.ggml.model "llama" (SentencePiece: llama.cpp merges adjacent pieces by score, as
//   SentencePiece's BPE does), .tokens / .scores / .token_type (piece types, same numbers),
//   .bos/.eos/.unknown/.padding_token_id, .add_bos_token, .add_eos_token, .add_space_prefix
// What GGUF cannot carry: the algorithm (a unigram model's Viterbi segmentation becomes
// score-ordered merges in llama.cpp), the normaliser's rules (llama.cpp applies none) and the
// training options. A rebuilt tokenizer.model is therefore a BPE model with an identity
// normaliser: it tokenizes as llama.cpp does, which for a Sieve-trained model (BPE, identity
// normaliser) is exactly as the original.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sieve/convert_gguf/gguf_reader.h"
#include "sieve/convert_gguf/gguf_writer.h"
#include "sieve/convert_gguf/sentencepiece_model.h"

namespace sieve::convert_gguf {

// Writes the metadata for `model`. llama.cpp needs one token per embedding row: a vocabulary
// shorter than `vocab_size` is padded with unused "[PAD<id>]" tokens (as its converter does); a
// longer one is a core::UserError.
void write_tokenizer_metadata(GgufWriter& writer, const SentencePieceModel& model, std::int64_t vocab_size);

// The SentencePiece model the metadata describes. A file without a vocabulary, or with a
// vocabulary that is not SentencePiece's (tokenizer.ggml.model "gpt2" and others), or with
// arrays that disagree in length or hold the wrong types, is a core::UserError naming `source`.
SentencePieceModel tokenizer_from_gguf(const GgufHeader& header, std::string_view source);

}  // namespace sieve::convert_gguf
