"""Bad arguments raise clear exceptions: TypeError for a wrong type, sieve.UserError (a
sieve.Error) with the CLI's message for bad values, missing directories and datasets."""

from pathlib import Path

import numpy as np
import pytest

import sieve
from conftest import run_sieve


def test_user_error_is_a_sieve_error():
    assert issubclass(sieve.UserError, sieve.Error)
    assert issubclass(sieve.Error, Exception)


def test_wrong_types_raise_type_error(untrained_model: Path):
    with pytest.raises(TypeError):
        sieve.MixedPrecisionTrainer(untrained_model, gradient_accumulation_steps="eight")
    with pytest.raises(TypeError):
        sieve.MixedPrecisionTrainer(untrained_model, precision_mode=16)


def test_an_unknown_precision_mode_has_the_clis_message(untrained_model: Path, corpus: Path):
    with pytest.raises(sieve.UserError) as raised:
        sieve.MixedPrecisionTrainer(untrained_model, precision_mode="fp64")
    cli = run_sieve("train", "--model-path", str(untrained_model), "--precision", "fp64", "--dataset", str(corpus))
    assert cli.returncode != 0
    assert cli.stderr.strip() == f"sieve: error: {raised.value}"
    assert "fp64" in str(raised.value)


def test_missing_directories(tmp_path: Path):
    missing = tmp_path / "nowhere"
    with pytest.raises(sieve.UserError, match="nowhere"):
        sieve.load(missing)
    with pytest.raises(sieve.UserError, match="nowhere"):
        sieve.MixedPrecisionTrainer(missing)
    with pytest.raises(sieve.UserError, match="nowhere"):
        sieve.finetune(missing, ["gcide"], tmp_path / "out")


def test_a_directory_without_a_model(tmp_path: Path):
    with pytest.raises(sieve.UserError, match="config.json"):
        sieve.load(tmp_path)


def test_wikitext_without_its_data_says_where_to_put_it(untrained_model: Path, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("SIEVE_DATA", raising=False)
    trainer = sieve.MixedPrecisionTrainer(untrained_model, precision_mode="fp32", output_dir=tmp_path / "run")
    with pytest.raises(sieve.UserError, match="SIEVE_DATA"):
        trainer.train(dataset="wikitext-103", epochs=10)


def test_bad_token_ids(tiny_model: Path):
    model = sieve.load(tiny_model)
    with pytest.raises(TypeError, match="float"):
        model.logits(np.array([1.0, 2.0]))
    with pytest.raises(TypeError):
        model.logits("abc")
    with pytest.raises(sieve.UserError, match="outside the vocabulary"):
        model.logits([1, 100000])
    with pytest.raises(sieve.UserError, match="dimensions"):
        model.logits(np.zeros((1, 1, 2), dtype=np.int64))
    with pytest.raises(sieve.UserError, match="temperature"):
        model.generate("abc", temperature=-1)
