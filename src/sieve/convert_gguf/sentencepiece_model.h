// The parts of a SentencePiece model file (`tokenizer.model`, a serialized
// sentencepiece.ModelProto) that GGUF's tokenizer.ggml.* metadata can carry: the pieces with
// their scores and types, the algorithm, the special ids and the normaliser switches. Read and
// written with a small protobuf wire codec, because Debian's libsentencepiece ships neither the
// .proto nor its generated classes.
//   ModelProto      1 pieces (repeated SentencePiece) · 2 trainer_spec · 3 normalizer_spec
//   SentencePiece   1 piece (string) · 2 score (float) · 3 type (enum)
//   TrainerSpec     3 model_type · 35 byte_fallback · 40–43 unk/bos/eos/pad ids · 45–48 their pieces
//   NormalizerSpec  1 name · 2 precompiled_charsmap · 3 add_dummy_prefix · 4 remove_extra_whitespaces
//                   · 5 escape_whitespaces
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sieve::convert_gguf {

// SentencePiece's piece types, which are also llama.cpp's token types (llama_token_type).
enum class PieceType : std::int32_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

struct SentencePieceEntry {
  std::string piece;
  float score = 0.0f;
  PieceType type = PieceType::normal;
};

struct SentencePieceModel {
  std::vector<SentencePieceEntry> pieces;
  int model_type = 1;  // 1 unigram, 2 bpe, 3 word, 4 char (proto default: unigram)
  bool byte_fallback = false;
  std::int32_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;  // −1: none
  std::string normalizer_name;      // "identity", "nmt_nfkc", ... (empty: not set)
  std::string precompiled_charsmap;  // the normaliser's compiled rules (empty for identity)
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

// Parses the fields above from a serialized ModelProto (other fields are skipped). Malformed
// bytes are a core::UserError naming `source`.
SentencePieceModel read_sentencepiece_model(std::string_view serialized, std::string_view source);

// A serialized ModelProto holding the fields above (the special pieces named after their ids).
std::string write_sentencepiece_model(const SentencePieceModel& model);

}  // namespace sieve::convert_gguf
