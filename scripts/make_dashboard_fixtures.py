#!/usr/bin/env python3
"""Writes the dashboard's fixture runs: tests/fixtures/dashboard_runs/<name>/ with metrics.jsonl
(docs/metrics.md), config.json and command.json, each run made to show one pattern the advisor
looks for (apps/dashboard/advisor/) — or none (healthy).

Standard library only and deterministic: the "noise" is a fixed sine sequence, the clock starts
at a fixed time. Regenerate with

    python3 scripts/make_dashboard_fixtures.py

The names are used by the advisor's tests, the API tests and the browser tests: keep them.

  healthy         loss falls steadily, validation follows, throughput plausible-high
  diverging       loss spikes and climbs, gradient norm spikes, the run ends early (failed)
  fp16-overflows  fp16 with loss scaling: the scale collapses and 15% of the steps are skipped
  plateau         the loss stops falling halfway while the learning rate is still high
  overfitting     validation loss rises from step 200 while the training loss keeps falling
  low-coverage    sparse attention whose key sets cover ~55% of the dense attention mass
  slow            a tiny micro-batch and a few tokens/s: far below any machine's GEMM speed
"""

import json
import math
import os
import shutil

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "dashboard_runs")
START_TIME = 1796000000.0
STEPS = 400
LOG_INTERVAL = 10
EVAL_INTERVAL = 40
PEAK_LR = 1e-3
MIN_LR = 1e-4
WARMUP = 20

# The demo preset's shape (nn/models/presets.cpp).
DEMO = {"vocab_size": 4096, "hidden_size": 256, "intermediate_size": 688, "num_hidden_layers": 4,
        "num_attention_heads": 4, "num_key_value_heads": 4, "max_position_embeddings": 256}


def config_json(model, attention=None):
    config = {"architectures": ["LlamaForCausalLM"], "attention": attention or {"type": "dense"},
              "bos_token_id": 1, "eos_token_id": 2, "model_type": "llama", "rms_norm_eps": 1e-05,
              "rope_theta": 10000.0, "tie_word_embeddings": False}
    config.update(model)
    return config


def parameter_count(model):
    hidden, inter, layers = model["hidden_size"], model["intermediate_size"], model["num_hidden_layers"]
    per_layer = hidden * (4 * hidden + 3 * inter) + 2 * hidden  # projections, two norms
    return 2 * model["vocab_size"] * hidden + layers * per_layer + hidden  # embeddings, head, final norm


def noise(i, scale, phase=0.0):
    """Deterministic wiggle in [-scale, scale]."""
    return scale * math.sin(1.7 * i + phase) * math.cos(0.37 * i + 2 * phase)


def lr_at(step):
    """The trainer's schedule: linear warm-up, then cosine from PEAK_LR to MIN_LR."""
    if step < WARMUP:
        return PEAK_LR * (step + 1) / WARMUP
    progress = (step - WARMUP) / max(1, STEPS - WARMUP)
    return MIN_LR + 0.5 * (PEAK_LR - MIN_LR) * (1 + math.cos(math.pi * progress))


class Run:
    def __init__(self, name, batch=8, context=256, precision="fp32", tokens_per_s=12000.0, model=DEMO,
                 attention=None, loss_scaling=False, extra_start=None, args=None):
        self.name, self.batch, self.context, self.precision = name, batch, context, precision
        self.tokens_per_s, self.model, self.attention = tokens_per_s, model, attention
        self.records = []
        self.time = 0.0
        start = {"event": "start", "step": 0, "steps": STEPS, "batch": batch, "context": context, "grad_accum": 1,
                 "loss_scaling": loss_scaling, "precision": precision, "parameters": parameter_count(model),
                 "trainable_parameters": parameter_count(model), "unix_time": START_TIME}
        start.update(extra_start or {})
        self.records.append(start)
        self.args = args or ["--dataset", "gcide", "--out", "runs/" + name, "--preset", "demo", "--steps", str(STEPS),
                             "--batch", str(batch), "--context", str(context), "--precision", precision]

    def train(self, step, loss, grad_norm, skipped=0, skipped_total=0, loss_scale=1.0, rss=900.0):
        self.time += LOG_INTERVAL * self.batch * self.context / self.tokens_per_s
        record = {"event": "train", "step": step, "applied_steps": step - skipped_total, "loss": loss,
                  "lr": lr_at(step - 1), "loss_scale": loss_scale, "skipped": skipped,
                  "skipped_total": skipped_total, "grad_norm": grad_norm,
                  "tokens_per_s": self.tokens_per_s * (1 + noise(step, 0.03)), "precision": self.precision,
                  "peak_memory_mb": 0.6 * rss, "peak_rss_mb": rss, "time_s": self.time,
                  "unix_time": START_TIME + 2.0 + self.time}
        self.records.append(record)

    def eval(self, step, val_loss, **extra):
        self.time += 1.5
        record = {"event": "eval", "step": step, "val_loss": val_loss, "val_ppl": math.exp(val_loss)}
        record.update(extra)
        record.update({"time_s": self.time, "unix_time": START_TIME + 2.0 + self.time})
        self.records.append(record)

    def write(self):
        directory = os.path.join(ROOT, self.name)
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "metrics.jsonl"), "w") as out:
            for record in self.records:
                out.write(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n")
        with open(os.path.join(directory, "config.json"), "w") as out:
            json.dump(config_json(self.model, self.attention), out, indent=2, sort_keys=True)
            out.write("\n")
        command = {"verb": "train", "args": self.args, "cwd": "/home/user/sieve", "unix_time": START_TIME - 1.0}
        with open(os.path.join(directory, "command.json"), "w") as out:
            json.dump(command, out, indent=2)
            out.write("\n")


def healthy_loss(step, i):
    """Falls fast, then keeps falling slowly to the end (a cosine run still gains late)."""
    return 3.1 + 5.2 * math.exp(-step / 60.0) + 0.8 * (1 - step / STEPS) + noise(i, 0.02)


def grad_norm(step, i):
    return 0.4 + 1.2 * math.exp(-step / 80.0) + noise(i, 0.05)


def steps():
    return range(LOG_INTERVAL, STEPS + 1, LOG_INTERVAL)


def evals():
    return range(0, STEPS + 1, EVAL_INTERVAL)


def healthy():
    run = Run("healthy")
    run.eval(0, 8.35)
    for i, step in enumerate(steps()):
        run.train(step, healthy_loss(step, i), grad_norm(step, i))
        if step % EVAL_INTERVAL == 0:
            run.eval(step, healthy_loss(step, 0) + 0.08)
    return run


def diverging():
    """Learns until step 200, then the loss jumps (9.6 against ~4.5), climbs, and the run fails at 290."""
    run = Run("diverging")
    run.args += ["--lr", "0.004", "--warmup", "10"]
    run.eval(0, 8.35)
    for i, step in enumerate(steps()):
        if step > 290:
            break
        if step < 210:
            loss, norm = healthy_loss(step, i) + 0.3, grad_norm(step, i)
        elif step == 210:
            loss, norm = 9.6, 41.0
        else:
            loss, norm = 6.2 + 0.02 * (step - 210) + noise(i, 0.2), 6.0 + noise(i, 2.0)
        run.train(step, loss, norm)
        if step % EVAL_INTERVAL == 0:
            run.eval(step, (healthy_loss(step, 0) + 0.4) if step < 210 else loss + 0.1)
    return run


def fp16_overflows():
    """fp16 with dynamic loss scaling: overflows keep halving the scale (65536 → 8) and skip 15% of the steps."""
    run = Run("fp16-overflows", precision="fp16", loss_scaling=True)
    run.eval(0, 8.35)
    skipped_total = 0
    scale = 65536.0
    for i, step in enumerate(steps()):
        skipped = 1 + (i % 3 == 0) + (i % 7 == 0)  # 1-3 overflows per 10 steps
        skipped_total += skipped
        scale = max(8.0, scale / (2 ** skipped) * (2 if i % 4 == 3 else 1))
        run.train(step, healthy_loss(step, i) + 0.15, grad_norm(step, i), skipped=skipped, skipped_total=skipped_total,
                  loss_scale=scale)
        if step % EVAL_INTERVAL == 0:
            run.eval(step, healthy_loss(step, 0) + 0.25)
    return run


def plateau():
    """The loss falls to 5.6 by step 120 and then stays there (±0.02) with the learning rate still high."""
    run = Run("plateau")
    run.eval(0, 8.35)
    for i, step in enumerate(steps()):
        loss = 5.6 + 2.7 * math.exp(-step / 30.0) + noise(i, 0.02)
        run.train(step, loss, grad_norm(step, i) * 0.5)
        if step % EVAL_INTERVAL == 0:
            run.eval(step, 5.68 + 2.7 * math.exp(-step / 30.0))
    return run


def overfitting():
    """A small corpus (--max-bytes 200000): validation bottoms out at step 200 and rises 13% by the end."""
    run = Run("overfitting")
    run.args += ["--max-bytes", "200000"]
    run.eval(0, 8.35)
    for i, step in enumerate(steps()):
        loss = 2.2 + 6.0 * math.exp(-step / 70.0) - 0.002 * step + noise(i, 0.02)
        run.train(step, loss, grad_norm(step, i))
        if step % EVAL_INTERVAL == 0:
            validation = 4.6 + 3.7 * math.exp(-step / 50.0) + 0.0000125 * (step - 160) ** 2 * (step > 160)
            run.eval(step, validation)
    return run


def low_coverage():
    """Sparse attention at 1024 tokens, τ 0.5, cap 64: the key sets cover ~55% of the dense mass."""
    model = dict(DEMO, max_position_embeddings=1024)
    attention = {"type": "sparse", "window": 256, "global_cap": 64, "threshold": 0.5, "dense_below": 0}
    run = Run("low-coverage", batch=2, context=1024, model=model, attention=attention,
              extra_start={"sparse_threshold": 0.5, "sparse_global_cap": 64},
              args=["--dataset", "gcide", "--out", "runs/low-coverage", "--preset", "demo", "--steps", str(STEPS),
                    "--batch", "2", "--context", "1024", "--attention", "sparse", "--sparse-window", "256",
                    "--sparse-global-cap", "64", "--dynamic-sparse-threshold", "0.5", "--sparse-dense-below", "0"])
    run.eval(0, 8.36, dense_mass_coverage=0.61)
    for i, step in enumerate(steps()):
        run.train(step, healthy_loss(step, i) + 0.1, grad_norm(step, i), rss=1400.0)
        if step % EVAL_INTERVAL == 0:
            run.eval(step, healthy_loss(step, 0) + 0.2, dense_mass_coverage=0.58 - 0.03 * step / STEPS)
    return run


def slow():
    """2 × 64-token micro-batches at 5 tokens/s: 6 × 5.3M parameters × 5 = 0.16 GFLOP/s."""
    run = Run("slow", batch=2, context=64, tokens_per_s=5.0)
    run.eval(0, 8.35)
    for i, step in enumerate(steps()):
        run.train(step, healthy_loss(step, i) + 0.2, grad_norm(step, i), rss=300.0)
        if step % EVAL_INTERVAL == 0:
            run.eval(step, healthy_loss(step, 0) + 0.3)
    return run


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    for make in (healthy, diverging, fp16_overflows, plateau, overfitting, low_coverage, slow):
        make().write()


if __name__ == "__main__":
    main()
