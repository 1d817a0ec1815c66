"""sieve.MixedPrecisionTrainer: the seed's call, resuming, the CLI loading the result, Ctrl-C."""

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import sieve
from conftest import run_sieve


def test_version():
    assert sieve.__version__.count(".") == 2


def test_the_seed_call_trains_a_model_the_cli_loads(short_context_model: Path, small_corpus: Path, capfd):
    model_path = str(short_context_model)
    dataset = str(small_corpus)
    result = sieve.MixedPrecisionTrainer(
        model_path, precision_mode="auto", gradient_accumulation_steps=8, loss_scale_window=1024
    ).train(dataset=dataset, epochs=10)

    assert result.precision in ("fp32", "bf16", "fp16", "tf32")
    assert result.steps == result.steps_done == len(result.losses) > 0
    assert result.epochs >= 10
    assert result.final_val_loss < result.initial_val_loss
    out = capfd.readouterr()
    assert "validation perplexity:" in out.out  # the CLI's summary
    trained = Path(model_path + "-trained")
    assert result.model_dir == trained

    evaluated = run_sieve("eval", "--model", str(trained), "--data", dataset, "--max-windows", "4")
    assert evaluated.returncode == 0, evaluated.stderr
    assert "perplexity" in evaluated.stdout
    generated = run_sieve("generate", "--model", str(trained), "--prompt", "ab", "--max-new-tokens", "4")
    assert generated.returncode == 0, generated.stderr


def test_resuming_continues_from_the_checkpoint(untrained_model: Path, corpus: Path):
    out = untrained_model.parent / "run"
    first = sieve.MixedPrecisionTrainer(
        untrained_model, precision_mode="fp32", output_dir=out, batch=2, checkpoint_interval=2, eval_windows=2
    ).train(str(corpus), steps=4)
    assert first.steps_done == 4
    assert any((out / "checkpoints").iterdir())

    resumed = sieve.MixedPrecisionTrainer(
        untrained_model, precision_mode="fp32", output_dir=out, batch=2, resume=True, eval_windows=2
    ).train(str(corpus), steps=6)
    assert resumed.steps_done == 6
    assert len(resumed.losses) == 2  # only steps 5 and 6 ran


def test_ctrl_c_stops_training_with_a_loadable_model(untrained_model: Path, corpus: Path):
    out = untrained_model.parent / "interrupted"
    script = textwrap.dedent(
        f"""
        import sieve
        sieve.MixedPrecisionTrainer({str(untrained_model)!r}, precision_mode="fp32", output_dir={str(out)!r},
                                    batch=2, log_interval=1, eval_windows=2).train({str(corpus)!r}, steps=100000)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    seen = []
    for line in child.stderr:  # progress lines, one a step (carriage returns end them)
        seen.append(line)
        if "step" in line and "/100000" in line:
            break
    else:
        child.wait()
        raise AssertionError("no progress line: " + "".join(seen))
    child.send_signal(signal.SIGINT)
    rest = child.stderr.read()
    assert child.wait(timeout=120) != 0
    assert "KeyboardInterrupt" in rest
    assert "interrupted" in rest
    assert any((out / "checkpoints").iterdir())
    model = sieve.load(out)
    assert model.logits([1, 2, 3]).shape == (3, model.config["vocab_size"])


def test_create_model_makes_what_the_cli_makes(corpus: Path, tmp_path: Path):
    sieve.create_model(tmp_path / "py", [str(corpus)], preset="tiny", seed=3)
    cli = run_sieve("train", "--out", str(tmp_path / "cli"), "--preset", "tiny", "--dataset", str(corpus),
                    "--steps", "0", "--model-seed", "3")
    assert cli.returncode == 0, cli.stderr
    for name in ("config.json", "tokenizer.model", "model.safetensors"):
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    with pytest.raises(sieve.UserError, match="unknown preset"):
        sieve.create_model(tmp_path / "bad", [str(corpus)], preset="huge")
