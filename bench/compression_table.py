#!/usr/bin/env python3
"""The compression table: teacher -> distilled student -> quantized, and a pruned teacher
(docs/compression.md, "The compression table").

Builds every model with the `sieve` CLI, then measures all of them in one pass on this machine:
  teacher          sieve train --preset P on --data (GCIDE + FOLDOC), --teacher-minutes of training
  student-kd       sieve distill from the teacher into a student with ~10x fewer non-embedding
                   parameters (--student-config), --student-steps steps
  student-scratch  the same student config and initialisation trained with `sieve train` on the
                   same tokens (steps x batch x context): the control
  student-kd-qat8  student-kd after `finetune --qat int8` then `quantize --scheme int8`
  student-kd-qat4  the same with int4
  teacher-pruned   sieve prune --target-flops F --recover-steps R on the teacher
Columns: parameters (all and non-embedding), weights on disk, prefill tokens/s (batch 1,
--context-token prompt), decode ms/token (after --context tokens), validation perplexity and
next-token top-1 accuracy on the held-out GCIDE documents, and quality retained (accuracy / the
teacher's; perplexity / the teacher's). Models already built under --work are reused (delete a
directory to rebuild it); the measurements always run anew, one model after another.

Prints the table (Markdown) and the targets of issue 17; --out appends one JSON line per row.
Needs only the standard library.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import struct
import subprocess
import sys

from compare import REPO, BenchError, run_json

# The student: hidden 144, 4 layers, 4 heads, FFN 384 -- 0.99M non-embedding parameters against
# lm-17m's 10.6M (10.7x fewer); the teacher's tokenizer and context.
STUDENT_CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "hidden_size": 144, "intermediate_size": 384, "num_hidden_layers": 4,
    "num_attention_heads": 4, "num_key_value_heads": 4,
}
EMBEDDING_TENSORS = ("model.embed_tokens.weight", "lm_head.weight")


def run(cmd, log):
    """Runs a build step, its output appended to log; raises BenchError on failure."""
    print("$ " + shlex.join(cmd), flush=True)
    with open(log, "a") as f:
        f.write("$ " + shlex.join(cmd) + "\n")
        f.flush()
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise BenchError(f"exit status {proc.returncode} from: {shlex.join(cmd)} (log: {log})")


def built(model_dir):
    return os.path.isfile(os.path.join(model_dir, "config.json")) and any(
        name.endswith(".safetensors") for name in os.listdir(model_dir))


def safetensors_shapes(path):
    """{name: shape} from a safetensors header (8-byte little-endian length, then JSON)."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    return {k: v["shape"] for k, v in header.items() if k != "__metadata__"}


def parameter_counts(model_dir):
    """(all, non-embedding) parameters of an f32 model directory."""
    total = non_embedding = 0
    for name, shape in safetensors_shapes(os.path.join(model_dir, "model.safetensors")).items():
        n = 1
        for extent in shape:
            n *= extent
        total += n
        if name not in EMBEDDING_TENSORS:
            non_embedding += n
    return total, non_embedding


def weights_bytes(model_dir):
    return sum(os.path.getsize(os.path.join(model_dir, name)) for name in os.listdir(model_dir)
               if name.endswith(".safetensors"))


class Pipeline:
    def __init__(self, args):
        self.args = args
        self.work = os.path.abspath(args.work)
        os.makedirs(self.work, exist_ok=True)
        self.log = os.path.join(self.work, "build.log")
        self.data = args.data

    def dir(self, name):
        return os.path.join(self.work, name)

    def sieve(self, *words):
        return [self.args.sieve, *words]

    def split_flags(self):
        return ["--val-fraction", str(self.args.val_fraction)]

    def teacher(self):
        out = self.dir("teacher")
        if not built(out):
            a = self.args
            run(self.sieve("train", "--preset", a.teacher_preset, "--data", *self.data, "--out", out,
                           "--steps", str(a.teacher_steps), "--max-minutes", str(a.teacher_minutes),
                           "--batch", str(a.batch), "--context", str(a.context), "--lr", str(a.teacher_lr),
                           "--min-lr", f"{a.teacher_lr / 10:g}", "--warmup", str(max(1, a.teacher_steps // 50)),
                           "--precision", a.precision, *self.split_flags()), self.log)
        return out

    def student_init(self, teacher):
        out = self.dir("student-init")
        if not built(out):
            config = dict(STUDENT_CONFIG)
            with open(os.path.join(teacher, "config.json")) as f:
                teacher_config = json.load(f)
            for key in ("vocab_size", "max_position_embeddings", "bos_token_id", "eos_token_id", "rms_norm_eps",
                        "rope_theta"):
                config[key] = teacher_config[key]
            config_file = os.path.join(self.work, "student-config.json")
            with open(config_file, "w") as f:
                json.dump(config, f, indent=2)
            run(self.sieve("train", "--config", config_file, "--tokenizer", os.path.join(teacher, "tokenizer.model"),
                           "--data", *self.data, "--out", out, "--steps", "0", "--model-seed", "7",
                           *self.split_flags()), self.log)
        return out

    def student_schedule(self):
        a = self.args
        return ["--steps", str(a.student_steps), "--batch", str(a.batch), "--context", str(a.context),
                "--lr", str(a.student_lr), "--min-lr", f"{a.student_lr / 10:g}",
                "--warmup", str(max(1, a.student_steps // 50)), "--precision", a.precision]

    def distilled(self, teacher, init):
        out = self.dir("student-kd")
        if not built(out):
            run(self.sieve("distill", "--teacher", teacher, "--student", init, "--dataset", *self.data,
                           "--out", out, "--alpha", str(self.args.alpha), "--temperature", str(self.args.temperature),
                           "--hidden-weight", str(self.args.hidden_weight),
                           *self.student_schedule(), *self.split_flags()), self.log)
        return out

    def scratch(self, init):
        out = self.dir("student-scratch")
        if not built(out):
            run(self.sieve("train", "--model-path", init, "--data", *self.data, "--out", out,
                           *self.student_schedule(), *self.split_flags()), self.log)
        return out

    def qat(self, student, scheme):
        tuned, quantized = self.dir(f"student-kd-qat-{scheme}-f32"), self.dir(f"student-kd-qat{scheme[-1]}")
        a = self.args
        if not built(tuned):
            run(self.sieve("finetune", "--model", student, "--data", *self.data, "--out", tuned, "--qat", scheme,
                           "--steps", str(a.qat_steps), "--batch", str(a.batch), "--context", str(a.context),
                           "--lr", str(a.qat_lr), "--min-lr", f"{a.qat_lr / 10:g}", "--warmup", str(max(1, a.qat_steps // 10)),
                           *self.split_flags()), self.log)
        if not built(quantized):
            run(self.sieve("quantize", "--model", tuned, "--out", quantized, "--scheme", scheme), self.log)
        return quantized

    def pruned(self, teacher):
        out = self.dir("teacher-pruned")
        a = self.args
        if not built(out):
            run(self.sieve("prune", "--model", teacher, "--out", out, "--target-flops", str(a.prune_keep),
                           "--importance", a.importance, "--calibration", self.data[0],
                           "--recover-steps", str(a.recover_steps), "--recover-batch", str(a.batch),
                           "--recover-lr", str(a.qat_lr)), self.log)
        return out


def measure(args, name, model_dir, f32_dir):
    """One row: every column for model_dir; parameters from its f32 source f32_dir."""
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), SIEVE_NUM_THREADS=str(args.threads))
    sieve = args.sieve
    prefill = max((run_json([sieve, "bench", "prefill", "--model", model_dir, "--context", str(args.context), "--json"],
                            env, args.timeout) for _ in range(args.rounds)), key=lambda r: r["tokens_per_s"])
    decode = min((run_json([sieve, "bench", "decode", "--model", model_dir, "--context", str(args.context),
                            "--tokens", str(args.new_tokens), "--json"], env, args.timeout)
                  for _ in range(args.rounds)), key=lambda r: r["ms_per_token"])
    quality = run_json([sieve, "eval", "--model", model_dir, "--data", args.eval_data, "--val-fraction",
                        str(args.val_fraction), "--context", str(args.context), "--max-windows",
                        str(args.eval_windows), "--json"], env, args.timeout)
    total, non_embedding = parameter_counts(f32_dir)
    return {"model": name, "dir": os.path.relpath(model_dir, REPO), "parameters": total,
            "non_embedding_parameters": non_embedding, "weights_bytes": weights_bytes(model_dir),
            "prefill_tokens_per_s": prefill["tokens_per_s"], "decode_ms_per_token": decode["ms_per_token"],
            "perplexity": quality["perplexity"], "top1_accuracy": quality["top1_accuracy"]}


def with_retained(rows):
    teacher = rows[0]
    for row in rows:
        row["accuracy_retained"] = row["top1_accuracy"] / teacher["top1_accuracy"]
        row["perplexity_ratio"] = row["perplexity"] / teacher["perplexity"]
    return rows


def print_table(rows):
    print("| model | parameters (non-embedding) | weights | prefill tokens/s | decode ms/token | "
          "val perplexity | top-1 accuracy | accuracy retained | perplexity / teacher's |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['parameters'] / 1e6:.2f} M ({r['non_embedding_parameters'] / 1e6:.2f} M) | "
              f"{r['weights_bytes'] / 1e6:.1f} MB | {r['prefill_tokens_per_s']:.0f} | {r['decode_ms_per_token']:.2f} | "
              f"{r['perplexity']:.2f} | {100 * r['top1_accuracy']:.2f} % | {100 * r['accuracy_retained']:.1f} % | "
              f"{r['perplexity_ratio']:.3f} |")


def print_targets(rows):
    by = {r["model"]: r for r in rows}
    teacher, kd, scratch = by["teacher"], by["student-kd"], by["student-scratch"]
    qat8, pruned = by["student-kd-qat8"], by["teacher-pruned"]
    checks = [
        ("student has >= 10x fewer non-embedding parameters",
         teacher["non_embedding_parameters"] / kd["non_embedding_parameters"], ">= 10", lambda v: v >= 10),
        ("distilled student keeps >= 92% of the teacher's top-1 accuracy", kd["accuracy_retained"], ">= 0.92",
         lambda v: v >= 0.92),
        ("distilled student beats the from-scratch student (accuracy points)",
         100 * (kd["top1_accuracy"] - scratch["top1_accuracy"]), "> 0", lambda v: v > 0),
        ("pruned teacher prefill speed-up", pruned["prefill_tokens_per_s"] / teacher["prefill_tokens_per_s"], ">= 1.3",
         lambda v: v >= 1.3),
        ("pruned + recovered perplexity vs the teacher's", pruned["perplexity_ratio"], "<= 1.05", lambda v: v <= 1.05),
        ("student-kd + QAT int8 decode speed-up over the f32 teacher",
         teacher["decode_ms_per_token"] / qat8["decode_ms_per_token"], ">= 8", lambda v: v >= 8),
        ("student-kd + QAT int8 accuracy vs the f32 student (points)",
         100 * (qat8["top1_accuracy"] - kd["top1_accuracy"]), ">= -1", lambda v: v >= -1),
    ]
    print()
    for what, value, target, ok in checks:
        print(f"{'met   ' if ok(value) else 'MISSED'} {what}: {value:.3f} (target {target})")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=os.path.join(REPO, "runs", "compression"), help="where the models are built")
    ap.add_argument("--data", nargs="+", default=["gcide", "foldoc"], help="training corpora")
    ap.add_argument("--eval-data", default="gcide", help="the held-out documents of this corpus are evaluated")
    ap.add_argument("--val-fraction", type=float, default=0.005)
    ap.add_argument("--eval-windows", type=int, default=64)
    ap.add_argument("--teacher-preset", default="lm-17m")
    ap.add_argument("--teacher-minutes", type=float, default=60, help="training time limit of the teacher")
    ap.add_argument("--teacher-steps", type=int, default=4800, help="the LR schedule's length (time may end it first)")
    ap.add_argument("--teacher-lr", type=float, default=1.5e-3)
    ap.add_argument("--student-steps", type=int, default=2000)
    ap.add_argument("--student-lr", type=float, default=3e-3)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--temperature", type=float, default=2.0)
    ap.add_argument("--hidden-weight", type=float, default=1.0, help="hidden-state matching (0: off)")
    ap.add_argument("--qat-steps", type=int, default=200)
    ap.add_argument("--qat-lr", type=float, default=3e-4)
    ap.add_argument("--prune-keep", type=float, default=0.7, help="fraction of the teacher's FLOPs kept")
    ap.add_argument("--importance", default="activation")
    ap.add_argument("--recover-steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=3600)
    ap.add_argument("--sieve", default=os.path.join(REPO, "build", "sieve"))
    ap.add_argument("--out", help="append JSON lines here")
    return ap.parse_args()


def main():
    args = parse_args()
    args.sieve = os.path.abspath(args.sieve)
    p = Pipeline(args)
    try:
        teacher = p.teacher()
        init = p.student_init(teacher)
        kd = p.distilled(teacher, init)
        scratch = p.scratch(init)
        models = [("teacher", teacher, teacher), ("student-kd", kd, kd), ("student-scratch", scratch, scratch),
                  ("student-kd-qat8", p.qat(kd, "int8"), kd), ("student-kd-qat4", p.qat(kd, "int4"), kd),
                  ("teacher-pruned", p.pruned(teacher), None)]
        rows = with_retained([measure(args, name, d, source or d) for name, d, source in models])
    except BenchError as e:
        sys.exit(f"compression_table: {e}")
    print_table(rows)
    print_targets(rows)
    if args.out:
        stamp = {"date": datetime.date.today().isoformat(), "cpu": platform.processor() or platform.machine(),
                 "bench": "compression_table", "threads": args.threads}
        with open(args.out, "a") as f:
            for row in rows:
                f.write(json.dumps(dict(stamp, **row)) + "\n")


if __name__ == "__main__":
    main()
