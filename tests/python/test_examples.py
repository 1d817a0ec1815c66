"""examples/python runs: the seed's training call and fine-tune-then-generate, on the tiny model."""

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "python"


def run_example(name: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True,
                          env=os.environ)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_examples(short_context_model: Path, small_corpus: Path, tmp_path: Path):
    out = run_example("train_mixed_precision.py", str(short_context_model), str(small_corpus), "2")
    assert "validation loss" in out
    trained = Path(str(short_context_model) + "-trained")
    out = run_example("finetune_then_generate.py", str(trained), str(small_corpus), str(tmp_path / "lora"), "abc", "5")
    assert (tmp_path / "lora" / "adapter.safetensors").is_file()
    assert out.splitlines()[-1].startswith("abc")
