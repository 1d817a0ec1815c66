#!/usr/bin/python3
"""Writes the seed inputs of the PyTorch fuzz targets: tests/fuzz/corpus/{torch_checkpoint,
torch_pickle}/ — checkpoints made by torch.save itself (Debian's torch: run with /usr/bin/python3)
and their data.pkl records. Rerunning rewrites the same bytes.

A seed's name says whether the reader should accept it (valid_*) or refuse it with a UserError
(invalid_*); tests/convert_torch/test_fuzz_corpus_torch.cpp checks that on every test run.

    /usr/bin/python3 tests/fuzz/make_torch_seeds.py
"""
import collections
import io
import os
import zipfile
from pathlib import Path

import torch

CORPUS = Path(__file__).resolve().parent / "corpus"


class Call:
    """Pickles as function(*arguments): a hostile checkpoint (never loaded here)."""

    def __init__(self, function, *arguments):
        self.function, self.arguments = function, arguments

    def __reduce__(self):
        return self.function, self.arguments


def saved(obj, protocol=2):
    buffer = io.BytesIO()
    torch.save(obj, buffer, pickle_protocol=protocol)
    return buffer.getvalue()


def pickle_of(checkpoint):
    with zipfile.ZipFile(io.BytesIO(checkpoint)) as archive:
        return archive.read("archive/data.pkl")


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def small_state_dict():
    """A few small tensors in every float dtype, a non-contiguous view, a shared storage and a
    module's _metadata (BUILD), as a real state_dict() has."""
    values = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 8
    linear = torch.nn.Linear(3, 2, bias=True)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[0.5, -1.0, 2.0], [0.25, 0.0, -0.75]]))
        linear.bias.copy_(torch.tensor([1.0, -1.0]))
    state = linear.state_dict()
    state["f32"] = values
    state["f16"] = values.half()
    state["bf16"] = values.bfloat16()
    state["transposed"] = values.t()
    state["row"] = values[2]  # shares the storage of f32, at an offset
    return state


def main():
    state = small_state_dict()
    valid = saved(state)
    write("torch_checkpoint", "valid_state_dict", valid)
    write("torch_checkpoint", "valid_protocol4", saved(state, protocol=4))
    write("torch_checkpoint", "invalid_os_system", saved(Call(os.system, "touch /tmp/sieve-fuzz-marker")))
    write("torch_checkpoint", "invalid_truncated", valid[: len(valid) // 2])
    write("torch_checkpoint", "invalid_int64_tensor", saved(collections.OrderedDict(step=torch.tensor([7]))))
    # A storage record cut short, with its directory entry (and CRC) made to match.
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(valid)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            data = source.read(info)
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            target.writestr(fixed, data[:-4] if info.filename == "archive/data/0" else data)
    write("torch_checkpoint", "invalid_short_storage", out.getvalue())

    write("torch_pickle", "valid_state_dict.pkl", pickle_of(valid))
    write("torch_pickle", "valid_protocol4.pkl", pickle_of(saved(state, protocol=4)))
    write("torch_pickle", "invalid_os_system.pkl", pickle_of(saved(Call(os.system, "touch /tmp/sieve-fuzz-marker"))))
    write("torch_pickle", "invalid_eval_protocol4.pkl",
          pickle_of(saved(Call(eval, "__import__('os').getcwd()"), protocol=4)))
    write("torch_pickle", "invalid_truncated.pkl", pickle_of(valid)[:-9])


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
