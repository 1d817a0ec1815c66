"""Fine-tune a model with LoRA adapters, then generate with them, streaming the text.

Usage: finetune_then_generate.py MODEL_DIR DATASET OUT_DIR [PROMPT [STEPS]]

    PYTHONPATH=build/python python3 examples/python/finetune_then_generate.py \
        models/sieve-base-trained foldoc runs/lora "A compiler is"

The base model stays as it is; the adapters go to OUT_DIR/adapter.safetensors (what
`sieve generate --adapter` takes too).
"""

import sys
from pathlib import Path

import sieve

base, dataset, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
prompt = sys.argv[4] if len(sys.argv) > 4 else "The"
steps = int(sys.argv[5]) if len(sys.argv) > 5 else 50

sieve.finetune(base, [dataset], out, lora=True, lora_rank=8, steps=steps, max_documents=2000)

model = sieve.load(base, adapter=out / "adapter.safetensors")
print(f"{model.num_parameters / 1e6:.2f}M parameters, perplexity on the prompt {model.perplexity(prompt):.1f}")
print(prompt, end="", flush=True)
for piece in model.stream(prompt, max_new_tokens=40, temperature=0.8, top_k=40, seed=1):
    print(piece, end="", flush=True)
print()
