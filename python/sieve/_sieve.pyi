"""Type stubs of the extension module sieve._sieve (python/*.cpp)."""

import os
from pathlib import Path
from typing import Iterator, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

__version__: str

PathLike = Union[str, os.PathLike[str]]
TokenIds = Union[Sequence[int], npt.NDArray[np.integer]]

class Error(Exception):
    """Base of Sieve's errors: a failure inside the engine."""

class UserError(Error):
    """Bad input (a file, directory, dataset or argument); the message says what was expected."""

class Tokenizer:
    """A SentencePiece tokenizer: a model directory's tokenizer.model."""

    def __init__(self, path: PathLike) -> None:
        """Loads a tokenizer.model file, or the one in a model directory."""
    def encode(self, text: str) -> list[int]:
        """The ids of `text`'s pieces (no BOS/EOS added)."""
    def decode(self, ids: TokenIds) -> str:
        """The text of a sequence of ids (a list or a 1-D integer NumPy array)."""
    @property
    def vocab_size(self) -> int: ...
    @property
    def bos_id(self) -> int: ...
    @property
    def eos_id(self) -> int: ...

class GenerationStream(Iterator[str]):
    """Iterator over the pieces of text of a generation (Model.stream)."""

    def __iter__(self) -> "GenerationStream": ...
    def __next__(self) -> str: ...

class Model:
    """A loaded model directory (sieve.load)."""

    @property
    def path(self) -> Path: ...
    @property
    def config(self) -> dict:
        """The directory's config.json as a dict."""
    @property
    def num_parameters(self) -> int: ...
    @property
    def tokenizer(self) -> Tokenizer: ...
    def generate(
        self,
        prompt: str,
        *,
        max_new_tokens: int = 64,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int = 0,
        stop_at_eos: bool = True,
    ) -> str:
        """The text generated after `prompt` (as `sieve generate` makes it; temperature 0 is greedy)."""
    def stream(
        self,
        prompt: str,
        *,
        max_new_tokens: int = 64,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int = 0,
        stop_at_eos: bool = True,
    ) -> GenerationStream:
        """Like generate, as an iterator over the pieces of text as they are made."""
    def logits(self, ids: TokenIds) -> npt.NDArray[np.float32]:
        """Logits ([T, V], or [B, T, V] for ids [B, T]) of token ids; the array shares the engine's memory."""
    def perplexity(self, text: str) -> float:
        """Perplexity of the model on `text`."""

def load(model_dir: PathLike, *, adapter: Optional[PathLike] = None) -> Model:
    """Loads a model directory (plain or quantized), with the LoRA adapters of an adapter.safetensors if given."""

class TrainResult:
    """What MixedPrecisionTrainer.train did."""

    precision: str
    loss_scaling: bool
    steps: int
    tokens_per_step: int
    train_tokens: int
    val_tokens: int
    epochs: float
    losses: list[float]
    steps_done: int
    initial_val_loss: float
    final_val_loss: float
    tokens_per_second: float
    interrupted: bool
    model_dir: Path

class MixedPrecisionTrainer:
    """Trains a model directory with automatic or fixed mixed precision, gradient accumulation,
    dynamic loss scaling and atomic checkpoints; writes to output_dir (default MODEL_PATH-trained)."""

    def __init__(
        self,
        model_path: PathLike,
        precision_mode: str = "auto",
        gradient_accumulation_steps: int = 1,
        loss_scale_window: int = 1000,
        *,
        output_dir: Optional[PathLike] = None,
        batch: int = 8,
        context: int = 0,
        learning_rate: float = 1e-3,
        min_learning_rate: float = 1e-4,
        warmup_steps: int = -1,
        weight_decay: float = 0.1,
        clip_grad_norm: float = 1.0,
        data_dir: Optional[PathLike] = None,
        seed: int = 0,
        resume: bool = False,
        checkpoint_interval: int = 0,
        keep_checkpoints: int = 3,
        eval_interval: int = 0,
        eval_windows: int = 64,
        log_interval: int = 10,
        max_seconds: float = 0.0,
        loss_scaling: Optional[bool] = None,
        activation_checkpointing: bool = False,
        init_seed: int = 0,
    ) -> None:
        """Loads the model directory and decides the precision (fp32, bf16, fp16, tf32, or auto)."""
    def train(
        self,
        dataset: str,
        *,
        epochs: float = 1.0,
        steps: int = 0,
        more_datasets: Sequence[str] = (),
        max_documents: int = 0,
        max_bytes: int = 0,
        val_fraction: float = 0.01,
    ) -> TrainResult:
        """Trains for `epochs` passes or exactly `steps` steps and saves the model to output_dir.
        Ctrl-C stops at the next step with a checkpoint and the model saved, then raises KeyboardInterrupt."""
    @property
    def output_dir(self) -> Path: ...
    @property
    def precision(self) -> str: ...
    @property
    def num_parameters(self) -> int: ...

def create_model(
    out_dir: PathLike,
    dataset: Sequence[str] = (),
    *,
    preset: str = "demo",
    config: Optional[PathLike] = None,
    tokenizer: Optional[PathLike] = None,
    data_dir: Optional[PathLike] = None,
    seed: int = 0,
) -> None:
    """`sieve train --out OUT_DIR --steps 0`: config.json from a preset or config file, tokenizer.model
    trained on the datasets (or copied from `tokenizer`), and seeded untrained weights."""

def finetune(
    model_dir: PathLike,
    dataset: Sequence[str],
    out_dir: PathLike,
    *,
    lora: bool = False,
    lora_rank: int = 8,
    lora_alpha: float = 16.0,
    lora_dropout: float = 0.0,
    lora_targets: str = "attn",
    merge: bool = False,
    qat: Optional[str] = None,
    steps: int = 200,
    batch: int = 8,
    gradient_accumulation_steps: int = 1,
    context: int = 0,
    learning_rate: float = 1e-3,
    min_learning_rate: float = 1e-4,
    warmup_steps: int = 10,
    precision_mode: str = "fp32",
    seed: int = 0,
    resume: bool = False,
    max_documents: int = 0,
    max_bytes: int = 0,
    eval_windows: int = 32,
    log_interval: int = 10,
) -> None:
    """`sieve finetune`: every weight, or LoRA adapters (out_dir/adapter.safetensors; merge: out_dir/merged)."""

def quantize(
    model_dir: PathLike,
    out_dir: PathLike,
    *,
    scheme: str = "",
    plan: Optional[PathLike] = None,
    group_size: int = 64,
    scale_dtype: str = "f16",
    activations: str = "dynamic",
    calibration: Optional[str] = None,
    calibration_windows: int = 32,
    calibration_context: int = 0,
    analyze: bool = False,
    max_ppl_increase: float = 0.0,
) -> None:
    """`sieve quantize`: a quantized copy (int8, int4, mixed) of model_dir in out_dir."""

def export(model_dir: PathLike, format: str, out: PathLike, *, type: str = "") -> None:
    """`sieve export` in this process: gguf or pytorch (sieve.export also does onnx, through the CLI)."""
