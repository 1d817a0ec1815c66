"""Sieve from Python: train, load, generate with, fine-tune, quantize and export transformer LMs.

A thin binding over Sieve's C++ engine (the extension module ``sieve._sieve``); the CLI verbs
and these functions run the same code. See docs/python.md.

    import sieve
    sieve.MixedPrecisionTrainer("models/tiny", precision_mode="auto",
                                gradient_accumulation_steps=8,
                                loss_scale_window=1024).train(dataset="foldoc", epochs=1)
    model = sieve.load("models/tiny-trained")
    print(model.generate("The compiler", max_new_tokens=32, temperature=0))
"""

import os
import shutil
import subprocess
from typing import Union

from . import _sieve
from ._sieve import (
    Error,
    GenerationStream,
    MixedPrecisionTrainer,
    Model,
    Tokenizer,
    TrainResult,
    UserError,
    __version__,
    create_model,
    finetune,
    load,
    quantize,
)

PathLike = Union[str, "os.PathLike[str]"]


def export(model_dir: PathLike, format: str, out: PathLike, *, type: str = "") -> None:
    """`sieve export`: model_dir in another tool's format: gguf (type: f32, f16, q8_0 or q4_0),
    pytorch, or onnx.

    gguf and pytorch run in this process. ONNX export needs protobuf, which the module cannot
    link (docs/python.md), so it runs the `sieve` executable's export: $SIEVE_CLI, else the
    build tree's (beside build/python), else `sieve` on PATH. Raises sieve.UserError with the
    CLI's message when it fails.
    """
    if format != "onnx":
        _sieve.export(model_dir, format, out, type=type)
        return
    command = [_cli(), "export", "--model", os.fspath(model_dir), "--format", "onnx", "--out", os.fspath(out)]
    if type:
        command += ["--type", type]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise UserError(done.stderr.strip().removeprefix("sieve: error: ") or f"{command[0]} exited with {done.returncode}")
    print(done.stdout, end="")


def _cli() -> str:
    """The `sieve` executable, for what the module leaves to it."""
    built = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "sieve")
    for candidate in (os.environ.get("SIEVE_CLI"), built, shutil.which("sieve")):
        if candidate and os.access(candidate, os.X_OK) and os.path.isfile(candidate):
            return candidate
    raise UserError("ONNX export runs the sieve executable, which was not found: set SIEVE_CLI to its path, or put "
                    "it on PATH")


# Tracebacks and help() name them sieve.X, not sieve._sieve.X.
for _name in ("Error", "GenerationStream", "MixedPrecisionTrainer", "Model", "Tokenizer", "TrainResult", "UserError"):
    globals()[_name].__module__ = __name__
del _name

__all__ = [
    "Error",
    "GenerationStream",
    "MixedPrecisionTrainer",
    "Model",
    "Tokenizer",
    "TrainResult",
    "UserError",
    "__version__",
    "create_model",
    "export",
    "finetune",
    "load",
    "quantize",
]
