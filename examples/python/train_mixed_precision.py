"""The trainer call from Sieve's documentation, from Python, as written.

Usage: train_mixed_precision.py [MODEL_DIR [DATASET [EPOCHS]]]
(defaults: models/sieve-base, gcide, 10). Without MODEL_DIR/config.json it first makes an
untrained model there (the tiny preset, a tokenizer trained on DATASET), as
`sieve train --preset tiny --dataset gcide --steps 0 --out models/sieve-base` would:

    PYTHONPATH=build/python python3 examples/python/train_mixed_precision.py models/sieve-base gcide 0.01

The trained model goes to MODEL_DIR-trained; MODEL_DIR is only read.
"""

import sys
from pathlib import Path

import sieve

model_path = sys.argv[1] if len(sys.argv) > 1 else "models/sieve-base"
dataset = sys.argv[2] if len(sys.argv) > 2 else "gcide"
epochs = float(sys.argv[3]) if len(sys.argv) > 3 else 10

if not (Path(model_path) / "config.json").exists():
    sieve.create_model(model_path, [dataset], preset="tiny")

result = sieve.MixedPrecisionTrainer(
    model_path, precision_mode="auto", gradient_accumulation_steps=8, loss_scale_window=1024
).train(dataset=dataset, epochs=epochs)

print(f"precision {result.precision}, {result.steps} steps ({result.epochs:.2f} epochs); "
      f"train loss {result.losses[0]:.4f} -> {result.losses[-1]:.4f}; "
      f"validation loss {result.initial_val_loss:.4f} -> {result.final_val_loss:.4f}")
