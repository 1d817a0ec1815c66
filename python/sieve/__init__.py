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
    export,
    finetune,
    load,
    quantize,
)

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
