#include "sieve/convert_torch/state_dict_pickler.h"

#include "sieve/core/checked_math.h"
#include "sieve/core/error.h"
#include "sieve/core/tensor.h"

namespace sieve::convert_torch {
namespace {

// Appends opcodes to a pickle.
class PickleBuilder {
 public:
  void opcode(char code) { out_.push_back(code); }
  void proto(std::uint8_t version) {
    opcode('\x80');
    out_.push_back(static_cast<char>(version));
  }
  void global(std::string_view module, std::string_view name) {
    opcode('c');
    out_.append(module).append("\n").append(name).append("\n");
  }
  void text(std::string_view value) {
    opcode('X');  // BINUNICODE: 4-byte little-endian length, UTF-8 bytes
    SIEVE_CHECK(value.size() <= 0xFFFFFFFFu, "a name of {} bytes", value.size());
    little_endian(value.size(), 4);
    out_.append(value);
  }
  // The shortest opcode for a non-negative integer, as pickle does.
  void integer(std::int64_t value) {
    SIEVE_CHECK(value >= 0, "negative integer {}", value);
    if (value < 0x100) {
      opcode('K');  // BININT1
      little_endian(static_cast<std::uint64_t>(value), 1);
    } else if (value < 0x10000) {
      opcode('M');  // BININT2
      little_endian(static_cast<std::uint64_t>(value), 2);
    } else if (value < 0x80000000) {
      opcode('J');  // BININT (signed 32-bit)
      little_endian(static_cast<std::uint64_t>(value), 4);
    } else {
      opcode('\x8a');  // LONG1: 8 bytes of two's complement (the value is positive and < 2^63)
      out_.push_back('\x08');
      little_endian(static_cast<std::uint64_t>(value), 8);
    }
  }
  void int_tuple(const std::vector<std::int64_t>& values) {
    opcode('(');  // MARK
    for (const std::int64_t v : values) integer(v);
    opcode('t');  // TUPLE
  }
  std::string take() { return std::move(out_); }

 private:
  void little_endian(std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
  }
  std::string out_;
};

}  // namespace

std::string pickle_state_dict(const std::vector<StateDictEntry>& entries) {
  PickleBuilder p;
  p.proto(2);
  p.global("collections", "OrderedDict");
  p.opcode(')');  // EMPTY_TUPLE
  p.opcode('R');  // REDUCE: OrderedDict()
  p.opcode('(');  // MARK: the items
  for (const StateDictEntry& entry : entries) {
    const auto numel = core::checked_numel(entry.shape);
    SIEVE_CHECK(numel.has_value(), "tensor '{}' has an invalid shape", entry.name);
    p.text(entry.name);
    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks)
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.opcode('(');
    p.opcode('(');  // the persistent id: ('storage', torch.<Type>Storage, key, 'cpu', numel)
    p.text("storage");
    p.global("torch", storage_type_of(entry.dtype).class_name);
    p.text(entry.storage_key);
    p.text("cpu");
    p.integer(*numel);
    p.opcode('t');
    p.opcode('Q');  // BINPERSID
    p.integer(0);
    p.int_tuple(entry.shape);
    p.int_tuple(core::contiguous_strides(entry.shape));
    p.opcode('\x89');  // NEWFALSE: requires_grad
    p.global("collections", "OrderedDict");
    p.opcode(')');
    p.opcode('R');  // backward_hooks: OrderedDict()
    p.opcode('t');
    p.opcode('R');
  }
  p.opcode('u');  // SETITEMS
  p.opcode('.');  // STOP
  return p.take();
}

}  // namespace sieve::convert_torch
