#include "sieve/convert_torch/state_dict_unpickler.h"

#include <bit>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>

#include "sieve/core/checked_math.h"
#include "sieve/core/error.h"
#include "sieve/core/tensor.h"

namespace sieve::convert_torch {
namespace {

// The opcodes this unpickler runs (pickletools names them).
namespace op {
constexpr std::uint8_t kProto = 0x80, kFrame = 0x95, kStop = '.', kMark = '(', kPop = '0', kPopMark = '1';
constexpr std::uint8_t kEmptyDict = '}', kEmptyList = ']', kEmptyTuple = ')';
constexpr std::uint8_t kTuple = 't', kTuple1 = 0x85, kTuple2 = 0x86, kTuple3 = 0x87;
constexpr std::uint8_t kAppend = 'a', kAppends = 'e', kSetItem = 's', kSetItems = 'u';
constexpr std::uint8_t kNone = 'N', kNewTrue = 0x88, kNewFalse = 0x89;
constexpr std::uint8_t kBinInt = 'J', kBinInt1 = 'K', kBinInt2 = 'M', kLong1 = 0x8a, kBinFloat = 'G';
constexpr std::uint8_t kBinUnicode = 'X', kShortBinUnicode = 0x8c, kBinUnicode8 = 0x8d, kShortBinString = 'U';
constexpr std::uint8_t kBinPut = 'q', kLongBinPut = 'r', kMemoize = 0x94, kBinGet = 'h', kLongBinGet = 'j';
constexpr std::uint8_t kGlobal = 'c', kStackGlobal = 0x93, kReduce = 'R', kBuild = 'b', kBinPersId = 'Q';
// Opcodes that construct or call objects by other routes; named in the refusal.
constexpr std::uint8_t kInst = 'i', kObj = 'o', kNewObj = 0x81, kNewObjEx = 0x92, kPersId = 'P', kExt1 = 0x82,
                       kExt2 = 0x83, kExt4 = 0x84;
}  // namespace op

enum class Kind : std::uint8_t { none, boolean, integer, floating, text, tuple, list, dict, callable, storage_class,
                                 storage, tensor };

// The globals a state dict may call.
enum class Callable : std::uint8_t { ordered_dict, rebuild_tensor_v2, rebuild_parameter, rebuild_parameter_with_state };

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::none: return "None";
    case Kind::boolean: return "a bool";
    case Kind::integer: return "an integer";
    case Kind::floating: return "a float";
    case Kind::text: return "a string";
    case Kind::tuple: return "a tuple";
    case Kind::list: return "a list";
    case Kind::dict: return "a dict";
    case Kind::callable: return "a function";
    case Kind::storage_class: return "a storage class";
    case Kind::storage: return "a storage";
    case Kind::tensor: return "a tensor";
  }
  return "?";
}

using ValueId = std::uint32_t;

// One value. Which fields hold what depends on `kind`: `number` is the integer, bool, Callable,
// storage class (TorchDType), storage index or tensor index; `items` the elements of a tuple or
// list, or a dict's keys and values interleaved.
struct Value {
  explicit Value(Kind kind_, std::int64_t number_ = 0) : kind(kind_), number(number_) {}
  static Value of_text(std::string text) {
    Value v(Kind::text);
    v.text = std::move(text);
    return v;
  }
  static Value of_float(double floating) {
    Value v(Kind::floating);
    v.floating = floating;
    return v;
  }
  static Value of_tuple(std::vector<ValueId> items) {
    Value v(Kind::tuple);
    v.items = std::move(items);
    return v;
  }

  Kind kind;
  std::int64_t number = 0;
  double floating = 0.0;
  std::string text;
  std::vector<ValueId> items;
};

class Unpickler {
 public:
  Unpickler(std::span<const std::byte> input, std::string_view source) : input_(input), source_(source) {}

  PickledStateDict run() {
    while (true) {
      opcode_at_ = at_;
      const std::uint8_t code = read_u8();
      if (code == op::kStop) return finish();
      step(code);
    }
  }

 private:
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    core::throw_user_error("{}: {} (pickle byte {})", source_, fmt::format(format, std::forward<Args>(args)...),
                           opcode_at_);
  }

  // --- reading the input ---------------------------------------------------------------
  std::span<const std::byte> read_bytes(std::uint64_t count) {
    if (count > input_.size() - at_) fail("the pickle ends inside an opcode's argument");
    const auto bytes = input_.subspan(at_, static_cast<std::size_t>(count));
    at_ += static_cast<std::size_t>(count);
    return bytes;
  }
  template <typename T>
  T read_le() {
    const auto bytes = read_bytes(sizeof(T));
    T value;
    std::memcpy(&value, bytes.data(), sizeof(T));
    return value;
  }
  std::uint8_t read_u8() { return read_le<std::uint8_t>(); }
  std::string read_text(std::uint64_t count) {
    const auto bytes = read_bytes(count);
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  std::string read_line() {
    for (std::size_t end = at_; end < input_.size(); ++end) {
      if (input_[end] != std::byte{'\n'}) continue;
      std::string line = read_text(end - at_);
      ++at_;  // the newline
      return line;
    }
    fail("the pickle ends inside a GLOBAL name");
  }

  // --- values ----------------------------------------------------------------------------
  ValueId make(Value value) {
    if (values_.size() >= kMaxPickleValues) fail("more than {} values: not a state dict", kMaxPickleValues);
    values_.push_back(std::move(value));
    return static_cast<ValueId>(values_.size() - 1);
  }
  ValueId make_integer(std::int64_t number) { return make(Value(Kind::integer, number)); }
  void push(ValueId id) {
    if (stack_.size() >= kMaxPickleValues) fail("the stack grows past {} values: not a state dict", kMaxPickleValues);
    stack_.push_back(id);
  }
  ValueId pop() {
    if (stack_.size() <= stack_floor()) fail("the stack is empty (or only a MARK is left)");
    const ValueId id = stack_.back();
    stack_.pop_back();
    return id;
  }
  ValueId top() {
    if (stack_.size() <= stack_floor()) fail("the stack is empty (or only a MARK is left)");
    return stack_.back();
  }
  std::size_t stack_floor() const { return marks_.empty() ? 0 : marks_.back(); }
  // The values pushed since the last MARK, which is removed.
  std::vector<ValueId> pop_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    const std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<ValueId> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  Value& value(ValueId id) { return values_[id]; }
  const Value& expect(ValueId id, Kind kind, std::string_view what) {
    const Value& v = values_[id];
    if (v.kind != kind) fail("{} is {}, expected {}", what, kind_name(v.kind), kind_name(kind));
    return v;
  }
  ValueId make_tuple(std::vector<ValueId> items) { return make(Value::of_tuple(std::move(items))); }

  void memo_put(std::uint64_t index) { memo_[index] = top(); }
  void memo_get(std::uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo entry {} was never stored", index);
    push(it->second);
  }

  // --- the allowed globals ---------------------------------------------------------------
  ValueId resolve_global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    static const std::map<std::string, Callable, std::less<>> kCallables{
        {"collections.OrderedDict", Callable::ordered_dict},
        {"torch._utils._rebuild_tensor_v2", Callable::rebuild_tensor_v2},
        {"torch._utils._rebuild_parameter", Callable::rebuild_parameter},
        {"torch._utils._rebuild_parameter_with_state", Callable::rebuild_parameter_with_state},
    };
    if (const auto it = kCallables.find(full); it != kCallables.end())
      return make(Value(Kind::callable, static_cast<std::int64_t>(it->second)));
    if (module == "torch")
      if (const auto type = storage_type_from_class(name))
        return make(Value(Kind::storage_class, static_cast<std::int64_t>(type->dtype)));
    fail("forbidden global '{}': a state dict holds only tensors, and this reader refuses to import or call "
         "anything else (the file may try to run code)",
         full);
  }

  // --- calls -----------------------------------------------------------------------------
  ValueId call(Callable callable, const std::vector<ValueId>& args) {
    switch (callable) {
      case Callable::ordered_dict:
        if (!args.empty()) fail("collections.OrderedDict called with arguments (only OrderedDict() is supported)");
        return make(Value(Kind::dict));
      case Callable::rebuild_tensor_v2: return rebuild_tensor(args);
      case Callable::rebuild_parameter:
      case Callable::rebuild_parameter_with_state: {
        const std::size_t expected = callable == Callable::rebuild_parameter ? 3 : 4;
        if (args.size() != expected) fail("a parameter is rebuilt from {} arguments, got {}", expected, args.size());
        expect(args[0], Kind::tensor, "a parameter's data");
        expect(args[1], Kind::boolean, "a parameter's requires_grad");
        expect_empty_hooks(args[2]);
        return args[0];
      }
    }
    fail("unknown callable");
  }

  void expect_empty_hooks(ValueId id) {
    const Value& hooks = expect(id, Kind::dict, "backward_hooks");
    if (!hooks.items.empty()) fail("a tensor has backward hooks (they would be code)");
  }

  std::vector<std::int64_t> int_tuple(ValueId id, std::string_view what) {
    const Value& tuple = expect(id, Kind::tuple, what);
    std::vector<std::int64_t> out;
    for (const ValueId item : tuple.items) {
      const Value& v = expect(item, Kind::integer, what);
      if (v.number < 0) fail("{} holds the negative value {}", what, v.number);
      out.push_back(v.number);
    }
    return out;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  ValueId rebuild_tensor(const std::vector<ValueId>& args) {
    if (args.size() != 6 && args.size() != 7) fail("_rebuild_tensor_v2 takes 6 or 7 arguments, got {}", args.size());
    const Value& storage = expect(args[0], Kind::storage, "a tensor's storage");
    PickledTensor tensor;
    tensor.storage = static_cast<std::size_t>(storage.number);
    tensor.offset = expect(args[1], Kind::integer, "a tensor's storage offset").number;
    if (tensor.offset < 0) fail("a tensor's storage offset is negative");
    tensor.shape = int_tuple(args[2], "a tensor's size");
    tensor.strides = int_tuple(args[3], "a tensor's stride");
    if (tensor.shape.size() != tensor.strides.size())
      fail("a tensor's size has {} dimensions but its stride {}", tensor.shape.size(), tensor.strides.size());
    expect(args[4], Kind::boolean, "a tensor's requires_grad");
    expect_empty_hooks(args[5]);
    if (args.size() == 7 && value(args[6]).kind != Kind::none) {
      const Value& metadata = expect(args[6], Kind::dict, "a tensor's metadata");
      if (!metadata.items.empty()) fail("a tensor carries Python metadata (not a plain state dict tensor)");
    }
    check_view_fits(tensor);
    tensors_.push_back(std::move(tensor));
    return make(Value(Kind::tensor, static_cast<std::int64_t>(tensors_.size() - 1)));
  }

  // The view's last element (offset + Σ (size - 1)·stride) must lie inside the storage.
  void check_view_fits(const PickledTensor& tensor) {
    const PickledStorage& storage = storages_[tensor.storage];
    if (!core::checked_numel(tensor.shape)) fail("a tensor's size {} overflows", core::shape_string(tensor.shape));
    for (const std::int64_t extent : tensor.shape)
      if (extent == 0) return;  // empty: reads nothing
    std::int64_t last = tensor.offset;
    for (std::size_t d = 0; d < tensor.shape.size(); ++d) {
      const auto step = core::checked_mul(tensor.shape[d] - 1, tensor.strides[d]);
      const auto sum = step ? core::checked_add(last, *step) : std::nullopt;
      if (!sum) fail("a tensor's view (size {}, stride {}) overflows", core::shape_string(tensor.shape),
                     core::shape_string(tensor.strides));
      last = *sum;
    }
    if (last >= storage.numel)
      fail("a tensor (offset {}, size {}, stride {}) reads element {} of storage '{}', which holds {}", tensor.offset,
           core::shape_string(tensor.shape), core::shape_string(tensor.strides), last, storage.key, storage.numel);
  }

  // ('storage', torch.<Type>Storage, key, location, numel)
  ValueId persistent_load(ValueId id) {
    const Value& pid = expect(id, Kind::tuple, "a persistent id");
    if (pid.items.size() != 5) fail("a persistent id has {} fields, expected 5 (a storage reference)", pid.items.size());
    if (expect(pid.items[0], Kind::text, "a persistent id's tag").text != "storage")
      fail("a persistent id is not a storage reference");
    const auto dtype = static_cast<TorchDType>(expect(pid.items[1], Kind::storage_class, "a storage's type").number);
    PickledStorage storage{.key = expect(pid.items[2], Kind::text, "a storage's key").text,
                           .type = storage_type_of(dtype),
                           .numel = expect(pid.items[4], Kind::integer, "a storage's size").number};
    expect(pid.items[3], Kind::text, "a storage's location");
    if (storage.numel < 0) fail("storage '{}' has a negative size", storage.key);
    if (!core::checked_mul(storage.numel, static_cast<std::int64_t>(storage.type.element_size)))
      fail("storage '{}' of {} elements overflows", storage.key, storage.numel);
    std::size_t index = storages_.size();
    if (const auto it = storage_index_.find(storage.key); it != storage_index_.end()) {
      index = it->second;
      const PickledStorage& known = storages_[index];
      if (known.type.dtype != storage.type.dtype || known.numel != storage.numel)
        fail("storage '{}' is declared twice, as {} x {} and {} x {}", storage.key, known.numel,
             known.type.dtype_name, storage.numel, storage.type.dtype_name);
    } else {
      storage_index_.emplace(storage.key, index);
      storages_.push_back(std::move(storage));
    }
    return make(Value(Kind::storage, static_cast<std::int64_t>(index)));
  }

  void set_items(ValueId dict_id, const std::vector<ValueId>& pairs) {
    if (pairs.size() % 2 != 0) fail("SETITEMS with an odd number of values");
    if (value(dict_id).kind != Kind::dict) fail("SETITEM on {}, not a dict", kind_name(value(dict_id).kind));
    auto& items = value(dict_id).items;
    items.insert(items.end(), pairs.begin(), pairs.end());
  }

  // --- the machine -----------------------------------------------------------------------
  void step(std::uint8_t code) {
    switch (code) {
      case op::kProto: {
        const std::uint8_t protocol = read_u8();
        if (protocol < 2 || protocol > 5) fail("pickle protocol {} (2 to 5 are supported)", protocol);
        return;
      }
      case op::kFrame: {
        // A hint of how many bytes follow; nothing to do but check it.
        if (read_le<std::uint64_t>() > input_.size() - at_) fail("a FRAME is longer than the rest of the pickle");
        return;
      }
      case op::kMark:
        if (marks_.size() >= kMaxPickleValues) fail("more than {} MARKs: not a state dict", kMaxPickleValues);
        marks_.push_back(stack_.size());
        return;
      case op::kPop: pop(); return;
      case op::kPopMark: pop_mark(); return;
      case op::kEmptyDict: push(make(Value(Kind::dict))); return;
      case op::kEmptyList: push(make(Value(Kind::list))); return;
      case op::kEmptyTuple: push(make_tuple({})); return;
      case op::kTuple: push(make_tuple(pop_mark())); return;
      case op::kTuple1: {
        const ValueId a = pop();
        push(make_tuple({a}));
        return;
      }
      case op::kTuple2: {
        const ValueId b = pop(), a = pop();
        push(make_tuple({a, b}));
        return;
      }
      case op::kTuple3: {
        const ValueId c = pop(), b = pop(), a = pop();
        push(make_tuple({a, b, c}));
        return;
      }
      case op::kAppend: {
        const ValueId item = pop();
        Value& list = value(top());
        if (list.kind != Kind::list) fail("APPEND to {}, not a list", kind_name(list.kind));
        list.items.push_back(item);
        return;
      }
      case op::kAppends: {
        const std::vector<ValueId> items = pop_mark();
        Value& list = value(top());
        if (list.kind != Kind::list) fail("APPENDS to {}, not a list", kind_name(list.kind));
        list.items.insert(list.items.end(), items.begin(), items.end());
        return;
      }
      case op::kSetItem: {
        const ValueId v = pop(), k = pop();
        set_items(top(), {k, v});
        return;
      }
      case op::kSetItems: {
        const std::vector<ValueId> pairs = pop_mark();
        set_items(top(), pairs);
        return;
      }
      case op::kNone: push(make(Value(Kind::none))); return;
      case op::kNewTrue: push(make(Value(Kind::boolean, 1))); return;
      case op::kNewFalse: push(make(Value(Kind::boolean, 0))); return;
      case op::kBinInt: push(make_integer(read_le<std::int32_t>())); return;
      case op::kBinInt1: push(make_integer(read_u8())); return;
      case op::kBinInt2: push(make_integer(read_le<std::uint16_t>())); return;
      case op::kLong1: {
        // n bytes of little-endian two's complement; a state dict needs at most 64 bits.
        const std::uint8_t n = read_u8();
        if (n > 8) fail("an integer of {} bytes (at most 8 are supported)", n);
        const auto bytes = read_bytes(n);
        std::uint64_t bits = 0;
        for (std::size_t i = 0; i < n; ++i) bits |= std::uint64_t(std::to_integer<std::uint8_t>(bytes[i])) << (8 * i);
        if (n > 0 && n < 8 && (std::to_integer<std::uint8_t>(bytes[n - 1]) & 0x80)) bits |= ~std::uint64_t{0} << (8 * n);
        push(make_integer(static_cast<std::int64_t>(bits)));
        return;
      }
      case op::kBinFloat: {
        const auto bytes = read_bytes(8);  // big-endian in the pickle
        std::uint64_t bits = 0;
        for (const std::byte b : bytes) bits = (bits << 8) | std::to_integer<std::uint8_t>(b);
        push(make(Value::of_float(std::bit_cast<double>(bits))));
        return;
      }
      case op::kBinUnicode: push(make(Value::of_text(read_text(read_le<std::uint32_t>())))); return;
      case op::kShortBinUnicode:
      case op::kShortBinString: push(make(Value::of_text(read_text(read_u8())))); return;
      case op::kBinUnicode8: push(make(Value::of_text(read_text(read_le<std::uint64_t>())))); return;
      case op::kBinPut: memo_put(read_u8()); return;
      case op::kLongBinPut: memo_put(read_le<std::uint32_t>()); return;
      case op::kMemoize: memo_put(memo_.size()); return;
      case op::kBinGet: memo_get(read_u8()); return;
      case op::kLongBinGet: memo_get(read_le<std::uint32_t>()); return;
      case op::kGlobal: {
        const std::string module = read_line();
        const std::string name = read_line();
        push(resolve_global(module, name));
        return;
      }
      case op::kStackGlobal: {
        const ValueId name = pop(), module = pop();
        const std::string module_text = expect(module, Kind::text, "STACK_GLOBAL's module").text;
        push(resolve_global(module_text, expect(name, Kind::text, "STACK_GLOBAL's name").text));
        return;
      }
      case op::kReduce: {
        const ValueId args = pop(), callable = pop();
        const Value& function = value(callable);
        if (function.kind != Kind::callable)
          fail("REDUCE calls {} (only the tensor-rebuild functions may be called)", kind_name(function.kind));
        const std::vector<ValueId> arguments = expect(args, Kind::tuple, "REDUCE's arguments").items;
        push(call(static_cast<Callable>(function.number), arguments));
        return;
      }
      case op::kBuild: {
        pop();  // the state: a dict's attributes (_metadata) or a tensor's; not needed
        const Kind kind = value(top()).kind;
        if (kind != Kind::dict && kind != Kind::tensor) fail("BUILD on {} (only a dict or a tensor)", kind_name(kind));
        return;
      }
      case op::kBinPersId: push(persistent_load(pop())); return;
      case op::kInst: fail("opcode INST (an object built by calling a class) is not allowed");
      case op::kObj: fail("opcode OBJ (an object built by calling a class) is not allowed");
      case op::kNewObj: fail("opcode NEWOBJ (an object built by calling a class) is not allowed");
      case op::kNewObjEx: fail("opcode NEWOBJ_EX (an object built by calling a class) is not allowed");
      case op::kPersId: fail("opcode PERSID (a text persistent id) is not allowed");
      case op::kExt1:
      case op::kExt2:
      case op::kExt4: fail("opcode EXT (a global from the extension registry) is not allowed");
      default: fail("unsupported pickle opcode 0x{:02x} (not one a state dict uses)", code);
    }
  }

  PickledStateDict finish() {
    const Value& top_value = value(pop());
    if (top_value.kind != Kind::dict)
      fail("the pickle holds {}, not a state dict (a dict of names to tensors)", kind_name(top_value.kind));
    PickledStateDict out;
    out.storages = storages_;
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i + 1 < top_value.items.size(); i += 2) {
      const std::string& name = expect(top_value.items[i], Kind::text, "a state dict key").text;
      const Value& entry = value(top_value.items[i + 1]);
      if (entry.kind != Kind::tensor) fail("state dict entry '{}' is {}, not a tensor", name, kind_name(entry.kind));
      PickledTensor tensor = tensors_[static_cast<std::size_t>(entry.number)];
      tensor.name = name;
      // A later SETITEM of the same key replaces the earlier one, as in Python.
      if (const auto it = seen.find(name); it != seen.end()) {
        out.tensors[it->second] = std::move(tensor);
      } else {
        seen.emplace(name, out.tensors.size());
        out.tensors.push_back(std::move(tensor));
      }
    }
    return out;
  }

  std::span<const std::byte> input_;
  std::string_view source_;
  std::size_t at_ = 0;
  std::size_t opcode_at_ = 0;
  std::vector<Value> values_;
  std::vector<ValueId> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, ValueId> memo_;
  std::vector<PickledTensor> tensors_;
  std::vector<PickledStorage> storages_;
  std::map<std::string, std::size_t, std::less<>> storage_index_;
};

}  // namespace

PickledStateDict unpickle_state_dict(std::span<const std::byte> pickle, std::string_view source) {
  return Unpickler(pickle, source).run();
}

}  // namespace sieve::convert_torch
