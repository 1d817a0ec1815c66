// A restricted unpickler for PyTorch state dicts (the data.pkl of a torch.save archive).
//
// NOTE [Restricted unpickler] Python's pickle is a small stack machine whose GLOBAL and REDUCE
// opcodes import and call anything by name — loading an untrusted pickle with Python's own
// unpickler runs whatever code the file names (os.system, builtins.eval, ...). This one executes
// nothing: it builds plain values, and the only names it resolves are the ones a state dict
// needs, each with a fixed meaning here —
//   collections.OrderedDict                  an empty dict (called with no arguments)
//   torch._utils._rebuild_tensor_v2          a tensor: (storage, offset, size, stride, ...)
//   torch._utils._rebuild_parameter          a parameter: the tensor it wraps
//   torch._utils._rebuild_parameter_with_state
//   torch.FloatStorage, torch.HalfStorage, ... only inside a storage reference
// A persistent id must be ('storage', torch.<Type>Storage, key, location, numel); BUILD only
// decorates a dict or a tensor (its state is dropped). Any other global is refused where it
// appears, before anything is called, with a core::UserError naming it; so are the opcodes of
// calls and object construction (INST, OBJ, NEWOBJ, NEWOBJ_EX) and any opcode a state dict
// does not use. Every index, length and count is checked against the input before use, and the
// number of values is capped, so a hostile pickle costs at most memory proportional to its size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sieve/convert_torch/storage_types.h"

namespace sieve::convert_torch {

// A storage the pickle refers to: the archive record data/<key>, `numel` elements of `type`.
struct PickledStorage {
  std::string key;
  TorchStorageType type;
  std::int64_t numel = 0;
};

// A tensor: a strided view of one storage (offset and strides in elements).
struct PickledTensor {
  std::string name;
  std::size_t storage = 0;  // index into PickledStateDict::storages
  std::int64_t offset = 0;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> strides;
};

struct PickledStateDict {
  std::vector<PickledTensor> tensors;  // in the pickle's order
  std::vector<PickledStorage> storages;
};

// Most values (objects on the stack, in the memo and in containers) one pickle may create.
inline constexpr std::size_t kMaxPickleValues = std::size_t{1} << 22;

// Reads a pickle (protocol 2 to 5) whose top-level object is a dict of name → tensor. Names
// not allowed, unsupported opcodes, malformed or truncated input, a tensor whose view leaves its
// storage's declared size, or a storage key declared twice with different types → UserError
// naming `source` and the byte offset.
PickledStateDict unpickle_state_dict(std::span<const std::byte> pickle, std::string_view source);

}  // namespace sieve::convert_torch
