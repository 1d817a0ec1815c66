#include "sieve/convert_gguf/gguf_tokenizer.h"

#include <vector>

#include "sieve/core/error.h"

namespace sieve::convert_gguf {

void write_tokenizer_metadata(GgufWriter& writer, const SentencePieceModel& model, std::int64_t vocab_size) {
  const auto pieces = static_cast<std::int64_t>(model.pieces.size());
  SIEVE_USER_CHECK(pieces <= vocab_size,
                   "the tokenizer has {} pieces but the model only {} embedding rows (vocab_size)", pieces, vocab_size);
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<std::int32_t> types;
  tokens.reserve(vocab_size);
  for (const SentencePieceEntry& entry : model.pieces) {
    tokens.push_back(entry.piece);
    scores.push_back(entry.score);
    types.push_back(static_cast<std::int32_t>(entry.type));
  }
  for (std::int64_t id = pieces; id < vocab_size; ++id) {
    tokens.push_back("[PAD" + std::to_string(id) + "]");
    scores.push_back(-1000.0f);
    types.push_back(static_cast<std::int32_t>(PieceType::unused));
  }
  writer.set("tokenizer.ggml.model", GgufValue::string("llama"));
  writer.set("tokenizer.ggml.pre", GgufValue::string("default"));
  writer.set("tokenizer.ggml.tokens", GgufValue::strings(std::move(tokens)));
  writer.set("tokenizer.ggml.scores", GgufValue::f32s(scores));
  writer.set("tokenizer.ggml.token_type", GgufValue::i32s(types));
  const auto set_id = [&](const char* key, std::int32_t id) {
    if (id >= 0 && id < pieces) writer.set(key, GgufValue::u32(static_cast<std::uint32_t>(id)));
  };
  set_id("tokenizer.ggml.bos_token_id", model.bos_id);
  set_id("tokenizer.ggml.eos_token_id", model.eos_id);
  set_id("tokenizer.ggml.unknown_token_id", model.unk_id);
  set_id("tokenizer.ggml.padding_token_id", model.pad_id);
  writer.set("tokenizer.ggml.add_bos_token", GgufValue::boolean(model.bos_id >= 0));
  writer.set("tokenizer.ggml.add_eos_token", GgufValue::boolean(false));
  writer.set("tokenizer.ggml.add_space_prefix", GgufValue::boolean(model.add_dummy_prefix));
}

SentencePieceModel tokenizer_from_gguf(const GgufHeader& header, std::string_view source) {
  const GgufValue* kind = header.find("tokenizer.ggml.model");
  const GgufValue* tokens = header.find("tokenizer.ggml.tokens");
  if (kind == nullptr || tokens == nullptr)
    core::throw_user_error(
        "{}: the file has no vocabulary (tokenizer.ggml.model / tokenizer.ggml.tokens): a Sieve model directory needs "
        "its tokenizer",
        source);
  if (kind->text() == nullptr || *kind->text() != "llama")
    core::throw_user_error(
        "{}: tokenizer.ggml.model is '{}'; Sieve rebuilds SentencePiece vocabularies ('llama') only, not byte-level "
        "BPE or others",
        source, kind->text() != nullptr ? *kind->text() : "(not a string)");
  if (!tokens->is_array() || tokens->element_type != GgufValueType::string || tokens->values.empty())
    core::throw_user_error("{}: tokenizer.ggml.tokens must be a non-empty array of strings", source);
  const std::size_t count = tokens->values.size();
  const GgufValue* scores = header.find("tokenizer.ggml.scores");
  const GgufValue* types = header.find("tokenizer.ggml.token_type");
  if (scores != nullptr && (!scores->is_array() || scores->values.size() != count || !scores->real_at(0)))
    core::throw_user_error("{}: tokenizer.ggml.scores must be {} numbers, one per token", source, count);
  if (types != nullptr && (!types->is_array() || types->values.size() != count || !types->integer_at(0)))
    core::throw_user_error("{}: tokenizer.ggml.token_type must be {} integers, one per token", source, count);

  SentencePieceModel model;
  model.model_type = 2;  // BPE: score-ordered merges, as llama.cpp tokenizes
  model.normalizer_name = "identity";
  model.remove_extra_whitespaces = false;
  bool unknown_seen = false;
  for (std::size_t i = 0; i < count; ++i) {
    SentencePieceEntry entry;
    entry.piece = *tokens->text_at(i);
    if (scores != nullptr) entry.score = static_cast<float>(scores->real_at(i).value_or(0.0));
    if (types != nullptr) {
      const auto type = types->integer_at(i);
      if (!type || *type < 1 || *type > 6)
        core::throw_user_error("{}: tokenizer.ggml.token_type[{}] is not a token type (1..6)", source, i);
      entry.type = static_cast<PieceType>(*type);
    }
    if (entry.type == PieceType::unknown) {
      if (unknown_seen) entry.type = PieceType::control;  // SentencePiece allows one unknown piece
      unknown_seen = true;
    }
    model.byte_fallback = model.byte_fallback || entry.type == PieceType::byte;
    model.pieces.push_back(std::move(entry));
  }
  const auto id_of = [&](const char* key, std::int32_t fallback) -> std::int32_t {
    const GgufValue* value = header.find(key);
    if (value == nullptr) return fallback;
    const auto id = value->integer();
    return id && *id >= 0 && static_cast<std::size_t>(*id) < count ? static_cast<std::int32_t>(*id) : -1;
  };
  model.unk_id = id_of("tokenizer.ggml.unknown_token_id", 0);
  model.bos_id = id_of("tokenizer.ggml.bos_token_id", 1);
  model.eos_id = id_of("tokenizer.ggml.eos_token_id", 2);
  model.pad_id = id_of("tokenizer.ggml.padding_token_id", -1);
  if (const GgufValue* prefix = header.find("tokenizer.ggml.add_space_prefix"))
    model.add_dummy_prefix = prefix->integer().value_or(1) != 0;
  if (!unknown_seen) {
    if (model.unk_id < 0)
      core::throw_user_error("{}: the vocabulary has no unknown token, which SentencePiece requires", source);
    model.pieces[static_cast<std::size_t>(model.unk_id)].type = PieceType::unknown;
  }
  return model;
}

}  // namespace sieve::convert_gguf
