#include "sieve/convert_gguf/sentencepiece_model.h"

#include <cstring>

#include "sieve/core/error.h"

namespace sieve::convert_gguf {
namespace {

enum WireType : std::uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// Reads protobuf wire format from a byte string; every read is bounds-checked.
class WireReader {
 public:
  WireReader(std::string_view bytes, std::string_view source) : bytes_(bytes), source_(source) {}

  bool done() const { return position_ == bytes_.size(); }

  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (position_ >= bytes_.size()) fail("truncated varint");
      const auto byte = static_cast<std::uint8_t>(bytes_[position_++]);
      value |= std::uint64_t{byte & 0x7Fu} << shift;
      if ((byte & 0x80u) == 0) return value;
    }
    fail("varint longer than 10 bytes");
  }
  std::string_view bytes() {
    const std::uint64_t length = varint();
    if (length > bytes_.size() - position_) fail("field length past the end");
    const std::string_view out = bytes_.substr(position_, length);
    position_ += length;
    return out;
  }
  float fixed32_float() {
    if (bytes_.size() - position_ < 4) fail("truncated fixed32");
    float value;
    std::memcpy(&value, bytes_.data() + position_, 4);
    position_ += 4;
    return value;
  }
  void skip(std::uint32_t wire_type) {
    switch (wire_type) {
      case kVarint: varint(); return;
      case kFixed64: advance(8); return;
      case kLengthDelimited: bytes(); return;
      case kFixed32: advance(4); return;
      default: fail("unknown wire type");
    }
  }
  [[noreturn]] void fail(std::string_view what) const {
    core::throw_user_error("{}: not a SentencePiece model ({} at byte {})", source_, what, position_);
  }

 private:
  void advance(std::size_t count) {
    if (bytes_.size() - position_ < count) fail("truncated field");
    position_ += count;
  }
  std::string_view bytes_;
  std::string_view source_;
  std::size_t position_ = 0;
};

// Each field of a message: `on_field(number, wire_type, reader)` must consume the value or
// return false to have it skipped.
template <typename OnField>
void for_each_field(std::string_view message, std::string_view source, OnField on_field) {
  WireReader in(message, source);
  while (!in.done()) {
    const std::uint64_t tag = in.varint();
    const auto number = static_cast<std::uint32_t>(tag >> 3);
    const auto wire_type = static_cast<std::uint32_t>(tag & 7);
    if (!on_field(number, wire_type, in)) in.skip(wire_type);
  }
}

SentencePieceEntry read_piece(std::string_view message, std::string_view source) {
  SentencePieceEntry entry;
  for_each_field(message, source, [&](std::uint32_t number, std::uint32_t wire, WireReader& in) {
    if (number == 1 && wire == kLengthDelimited) entry.piece = std::string(in.bytes());
    else if (number == 2 && wire == kFixed32) entry.score = in.fixed32_float();
    else if (number == 3 && wire == kVarint) {
      const std::uint64_t type = in.varint();
      if (type < 1 || type > 6) in.fail("piece type outside 1..6");
      entry.type = static_cast<PieceType>(type);
    } else return false;
    return true;
  });
  return entry;
}

class WireWriter {
 public:
  void varint(std::uint64_t value) {
    while (value >= 0x80) {
      bytes_.push_back(static_cast<char>((value & 0x7F) | 0x80));
      value >>= 7;
    }
    bytes_.push_back(static_cast<char>(value));
  }
  void tag(std::uint32_t number, WireType wire) { varint((std::uint64_t{number} << 3) | wire); }
  void int_field(std::uint32_t number, std::int64_t value) {
    tag(number, kVarint);
    varint(static_cast<std::uint64_t>(value));  // negative int32: ten bytes, as protobuf writes them
  }
  void bytes_field(std::uint32_t number, std::string_view value) {
    tag(number, kLengthDelimited);
    varint(value.size());
    bytes_.append(value);
  }
  void float_field(std::uint32_t number, float value) {
    tag(number, kFixed32);
    char raw[4];
    std::memcpy(raw, &value, 4);
    bytes_.append(raw, 4);
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

}  // namespace

SentencePieceModel read_sentencepiece_model(std::string_view serialized, std::string_view source) {
  SentencePieceModel model;
  for_each_field(serialized, source, [&](std::uint32_t number, std::uint32_t wire, WireReader& in) {
    if (wire != kLengthDelimited || number < 1 || number > 3) return false;
    const std::string_view message = in.bytes();
    if (number == 1) {
      model.pieces.push_back(read_piece(message, source));
    } else if (number == 2) {
      for_each_field(message, source, [&](std::uint32_t field, std::uint32_t field_wire, WireReader& spec) {
        if (field_wire != kVarint) return false;
        const auto value = static_cast<std::int32_t>(spec.varint());
        switch (field) {
          case 3: model.model_type = value; break;
          case 35: model.byte_fallback = value != 0; break;
          case 40: model.unk_id = value; break;
          case 41: model.bos_id = value; break;
          case 42: model.eos_id = value; break;
          case 43: model.pad_id = value; break;
          default: break;
        }
        return true;
      });
    } else {
      for_each_field(message, source, [&](std::uint32_t field, std::uint32_t field_wire, WireReader& spec) {
        if (field == 1 && field_wire == kLengthDelimited) model.normalizer_name = std::string(spec.bytes());
        else if (field == 2 && field_wire == kLengthDelimited) model.precompiled_charsmap = std::string(spec.bytes());
        else if (field >= 3 && field <= 5 && field_wire == kVarint) {
          const bool value = spec.varint() != 0;
          (field == 3 ? model.add_dummy_prefix : field == 4 ? model.remove_extra_whitespaces : model.escape_whitespaces) =
              value;
        } else return false;
        return true;
      });
    }
    return true;
  });
  return model;
}

std::string write_sentencepiece_model(const SentencePieceModel& model) {
  WireWriter out;
  for (const SentencePieceEntry& entry : model.pieces) {
    WireWriter piece;
    piece.bytes_field(1, entry.piece);
    piece.float_field(2, entry.score);
    piece.int_field(3, static_cast<std::int32_t>(entry.type));
    out.bytes_field(1, piece.bytes());
  }
  const auto piece_of = [&](std::int32_t id) -> std::string_view {
    return id >= 0 && static_cast<std::size_t>(id) < model.pieces.size() ? model.pieces[id].piece : std::string_view();
  };
  WireWriter trainer;
  trainer.int_field(3, model.model_type);
  trainer.int_field(4, static_cast<std::int64_t>(model.pieces.size()));
  trainer.int_field(35, model.byte_fallback ? 1 : 0);
  const std::int32_t ids[] = {model.unk_id, model.bos_id, model.eos_id, model.pad_id};
  for (int i = 0; i < 4; ++i) {
    trainer.int_field(40 + i, ids[i]);
    // SentencePiece finds bos/eos/pad by these piece names, not by the ids.
    if (!piece_of(ids[i]).empty()) trainer.bytes_field(45 + i, piece_of(ids[i]));
  }
  out.bytes_field(2, trainer.bytes());
  WireWriter normalizer;
  if (!model.normalizer_name.empty()) normalizer.bytes_field(1, model.normalizer_name);
  if (!model.precompiled_charsmap.empty()) normalizer.bytes_field(2, model.precompiled_charsmap);
  normalizer.int_field(3, model.add_dummy_prefix ? 1 : 0);
  normalizer.int_field(4, model.remove_extra_whitespaces ? 1 : 0);
  normalizer.int_field(5, model.escape_whitespaces ? 1 : 0);
  out.bytes_field(3, normalizer.bytes());
  return out.bytes();
}

}  // namespace sieve::convert_gguf
