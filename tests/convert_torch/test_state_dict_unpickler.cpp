// The restricted unpickler: what torch.save writes (here from state_dict_pickler) reads back;
// every forbidden global, call opcode and malformed or truncated input is a UserError that
// says what is wrong.
#include <gtest/gtest.h>

#include <string>

#include "sieve/convert_torch/state_dict_pickler.h"
#include "sieve/convert_torch/state_dict_unpickler.h"
#include "sieve/core/error.h"

namespace sieve::convert_torch {
namespace {

PickledStateDict unpickle(const std::string& bytes) {
  return unpickle_state_dict(std::as_bytes(std::span(bytes.data(), bytes.size())), "test.pkl");
}

// The message of the UserError unpickling `bytes` throws ("" and a test failure if none).
std::string refusal(const std::string& bytes) {
  try {
    (void)unpickle(bytes);
  } catch (const core::UserError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted";
  return "";
}

#define EXPECT_REFUSED(bytes, fragment)                                                     \
  do {                                                                                      \
    const std::string message = refusal(bytes);                                             \
    EXPECT_NE(message.find(fragment), std::string::npos) << "message: " << message;         \
  } while (0)

std::string binunicode(const std::string& text) {
  const auto n = static_cast<std::uint32_t>(text.size());
  return "X" + std::string{char(n & 0xFF), char((n >> 8) & 0xFF), char((n >> 16) & 0xFF), char(n >> 24)} + text;
}

// A state dict {"w": tensor} as torch.save writes it, with the view and storage size given.
std::string one_tensor_pickle(int offset, int size, int stride, int numel) {
  auto byte = [](int v) { return std::string{'K', char(v)}; };
  return std::string("\x80\x02") + "ccollections\nOrderedDict\n)R(" + binunicode("w") +
         "ctorch._utils\n_rebuild_tensor_v2\n((" + binunicode("storage") + "ctorch\nFloatStorage\n" +
         binunicode("0") + binunicode("cpu") + byte(numel) + "tQ" + byte(offset) + byte(size) + "\x85" +
         byte(stride) + "\x85\x89" + "ccollections\nOrderedDict\n)R" + "tRu.";
}

TEST(StateDictUnpickler, ReadsWhatTorchSaveWrites) {
  const std::string pickle = pickle_state_dict({{"a.weight", "0", TorchDType::f32, {3, 5}},
                                                {"b", "1", TorchDType::bf16, {70000}},
                                                {"scalar", "2", TorchDType::f16, {}}});
  const PickledStateDict dict = unpickle(pickle);
  ASSERT_EQ(dict.tensors.size(), 3u);
  ASSERT_EQ(dict.storages.size(), 3u);
  EXPECT_EQ(dict.tensors[0].name, "a.weight");
  EXPECT_EQ(dict.tensors[0].shape, (std::vector<std::int64_t>{3, 5}));
  EXPECT_EQ(dict.tensors[0].strides, (std::vector<std::int64_t>{5, 1}));
  EXPECT_EQ(dict.storages[dict.tensors[1].storage].type.dtype, TorchDType::bf16);
  EXPECT_EQ(dict.storages[dict.tensors[1].storage].numel, 70000);
  EXPECT_EQ(dict.storages[dict.tensors[2].storage].numel, 1);
  EXPECT_TRUE(dict.tensors[2].shape.empty());
  EXPECT_EQ(dict.storages[2].key, "2");
}

TEST(StateDictUnpickler, ViewsAreCheckedAgainstTheirStorage) {
  EXPECT_NO_THROW(unpickle(one_tensor_pickle(0, 4, 1, 4)));
  EXPECT_NO_THROW(unpickle(one_tensor_pickle(3, 2, 0, 4)));  // a broadcast view of the last element
  EXPECT_REFUSED(one_tensor_pickle(2, 4, 1, 4), "reads element 5 of storage '0', which holds 4");
  EXPECT_REFUSED(one_tensor_pickle(0, 3, 2, 4), "reads element 4 of storage '0', which holds 4");
}

TEST(StateDictUnpickler, RefusesForbiddenGlobals) {
  EXPECT_REFUSED("\x80\x02" "cposix\nsystem\n" + binunicode("touch x") + "\x85R.", "forbidden global 'posix.system'");
  EXPECT_REFUSED(std::string("\x80\x04\x8c\x08") + "builtins" + "\x8c\x04" + "eval" + "\x93.",
                 "forbidden global 'builtins.eval'");
  EXPECT_REFUSED("\x80\x02" "ctorch\nload\n.", "forbidden global 'torch.load'");
  EXPECT_REFUSED("\x80\x02" "ctorch._utils\n_rebuild_device_tensor_from_numpy\n.",
                 "forbidden global 'torch._utils._rebuild_device_tensor_from_numpy'");
  // An allowed name that is not a function must not be callable.
  EXPECT_REFUSED("\x80\x02" "ctorch\nFloatStorage\n)R.", "REDUCE calls a storage class");
  EXPECT_REFUSED("\x80\x02" "ccollections\nOrderedDict\nK\x01\x85R.", "OrderedDict called with arguments");
}

TEST(StateDictUnpickler, RefusesOpcodesThatBuildObjects) {
  EXPECT_REFUSED("\x80\x02(ios\nsystem\n.", "opcode INST");
  EXPECT_REFUSED("\x80\x02(o.", "opcode OBJ");
  EXPECT_REFUSED("\x80\x02\x81.", "opcode NEWOBJ");
  EXPECT_REFUSED("\x80\x02\x82\x01.", "opcode EXT");
  EXPECT_REFUSED("\x80\x02Pfoo\n.", "opcode PERSID");
  EXPECT_REFUSED("\x80\x02\xff", "unsupported pickle opcode 0xff");
  EXPECT_REFUSED("\x80\x02]}b.", "BUILD on a list");
  EXPECT_REFUSED("\x80\x02K\x01Q.", "a persistent id is an integer");
  EXPECT_REFUSED("\x80\x02(" + binunicode("storage") + "K\x01tQ.", "a persistent id has 2 fields");
}

TEST(StateDictUnpickler, RefusesMalformedInput) {
  EXPECT_REFUSED("\x80\x06.", "pickle protocol 6");
  EXPECT_REFUSED("\x80\x02h\x05.", "memo entry 5 was never stored");
  EXPECT_REFUSED("\x80\x02R.", "the stack is empty");
  EXPECT_REFUSED("\x80\x02(K\x01R.", "the stack is empty");  // a MARK hides what is below it
  EXPECT_REFUSED("\x80\x02t.", "no MARK");
  EXPECT_REFUSED("\x80\x02].", "holds a list, not a state dict");
  EXPECT_REFUSED("\x80\x02}" + binunicode("a") + "K\x01s.", "state dict entry 'a' is an integer, not a tensor");
  EXPECT_REFUSED(std::string("\x80\x02\x8a\x09") + std::string(9, '\x01') + ".", "an integer of 9 bytes");
  EXPECT_REFUSED("\x80\x02X\xff\xff\xff\xff", "ends inside an opcode's argument");
  EXPECT_REFUSED("\x80\x02}K\x01s.", "the stack is empty");
  EXPECT_REFUSED("", "ends inside");
}

// Every prefix of a valid pickle is refused cleanly (a truncated data.pkl).
TEST(StateDictUnpickler, EveryTruncationIsRefused) {
  const std::string pickle = pickle_state_dict({{"a", "0", TorchDType::f32, {2, 300}}, {"b", "1", TorchDType::f16, {7}}});
  for (std::size_t length = 0; length < pickle.size(); ++length) {
    SCOPED_TRACE(length);
    EXPECT_THROW(unpickle(pickle.substr(0, length)), core::UserError);
  }
}

}  // namespace
}  // namespace sieve::convert_torch
